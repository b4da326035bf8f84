"""Settings of the supervisor view, the statistics and the metrics endpoint.

A frozen dataclass built from the environment by :meth:`SupervisorConfig.from_env`; the app's
``Settings`` carries one. It imports nothing of the app, so ``config.py`` can import it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .domain.outcomes import OUTCOME_GRACE_S
from .domain.stats import DEFAULT_SERVICE_TARGETS_S, WAIT_BUCKETS_S
from .envparse import EnvReader

MIN_SAMPLE_INTERVAL_S: Final = 1.0
MAX_QUEUE_HISTORY_S: Final = 48 * 3600
MIN_METRICS_TOKEN_CHARS: Final = 24
MIN_OUTCOME_GRACE_S: Final = 60
MAX_OUTCOME_GRACE_S: Final = 24 * 3600


class SupervisorConfigError(ValueError):
    """An environment variable of the supervisor view has a value that cannot be used."""


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """``stats_dir`` None means ``<NEXUS_DATA_DIR>/stats``; ``metrics_port`` 0 means no
    metrics endpoint at all."""

    service_targets_s: tuple[int, ...] = DEFAULT_SERVICE_TARGETS_S
    queue_sample_interval_s: float = 30.0
    queue_history_s: int = 6 * 3600
    stats_flush_interval_s: float = 60.0
    stats_dir: Path | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    metrics_token: str = ""
    outcome_grace_s: int = OUTCOME_GRACE_S
    survey_file: Path | None = None  # None: the shipped survey (chat_server/data/survey.json)

    def __post_init__(self) -> None:
        for target in self.service_targets_s:
            if target not in WAIT_BUCKETS_S:
                bounds = ", ".join(str(int(b)) for b in WAIT_BUCKETS_S if math.isfinite(b))
                raise SupervisorConfigError(
                    f"NEXUS_SERVICE_TARGETS_S: {target} is not one of the wait buckets ({bounds})"
                )
        if not self.service_targets_s:
            raise SupervisorConfigError("NEXUS_SERVICE_TARGETS_S: give at least one target")
        if self.queue_sample_interval_s < MIN_SAMPLE_INTERVAL_S:
            raise SupervisorConfigError("NEXUS_QUEUE_SAMPLE_S must be at least 1 second")
        if not self.queue_sample_interval_s <= self.queue_history_s <= MAX_QUEUE_HISTORY_S:
            raise SupervisorConfigError(
                "NEXUS_QUEUE_HISTORY_S must lie between the sample interval and 48 hours"
            )
        if self.stats_flush_interval_s < MIN_SAMPLE_INTERVAL_S:
            raise SupervisorConfigError("NEXUS_STATS_FLUSH_S must be at least 1 second")
        if not 0 <= self.metrics_port <= 65535:
            raise SupervisorConfigError("NEXUS_METRICS_PORT must be a TCP port (0 = off)")
        if not MIN_OUTCOME_GRACE_S <= self.outcome_grace_s <= MAX_OUTCOME_GRACE_S:
            raise SupervisorConfigError(
                "NEXUS_OUTCOME_GRACE_S must lie between 60 seconds and 24 hours"
            )
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN_CHARS:
            raise SupervisorConfigError(
                f"NEXUS_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARS} characters"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SupervisorConfig:
        """Read the NEXUS_* variables listed in docs/statistics.md; raises
        :class:`SupervisorConfigError` on a value that cannot be used."""
        stats_dir = env.get("NEXUS_STATS_DIR", "")
        survey_file = env.get("NEXUS_SURVEY_FILE", "").strip()
        read = EnvReader(env, SupervisorConfigError)
        return cls(
            service_targets_s=_targets(env.get("NEXUS_SERVICE_TARGETS_S", "")),
            queue_sample_interval_s=read.number("NEXUS_QUEUE_SAMPLE_S", 30.0),
            queue_history_s=read.whole("NEXUS_QUEUE_HISTORY_S", 6 * 3600),
            stats_flush_interval_s=read.number("NEXUS_STATS_FLUSH_S", 60.0),
            stats_dir=Path(stats_dir) if stats_dir else None,
            metrics_host=env.get("NEXUS_METRICS_HOST", "") or "127.0.0.1",
            metrics_port=read.whole("NEXUS_METRICS_PORT", 0),
            metrics_token=env.get("NEXUS_METRICS_TOKEN", ""),
            outcome_grace_s=read.whole("NEXUS_OUTCOME_GRACE_S", OUTCOME_GRACE_S),
            survey_file=Path(survey_file) if survey_file else None,
        )

    def resolved_stats_dir(self, data_dir: Path) -> Path:
        """Where the daily roll-up files live."""
        return self.stats_dir if self.stats_dir is not None else data_dir / "stats"


def _targets(raw: str) -> tuple[int, ...]:
    if not raw.strip():
        return DEFAULT_SERVICE_TARGETS_S
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SupervisorConfigError(
            "NEXUS_SERVICE_TARGETS_S must be whole seconds separated by commas, e.g. 60,120"
        ) from None
