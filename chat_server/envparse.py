"""Reading typed values out of an environment mapping, with errors that name the variable.

The settings modules (``config``, ``supervisor_config``, ``callback_settings`` and
``web.console_settings``) each read their variables through an :class:`EnvReader` built on the
mapping they were given, so every one of them accepts the same spellings and words its
complaints the same way. Nothing here reads ``os.environ``: the caller passes the mapping in.

Shared rules: a variable that is unset, empty or only white space means its default; a value
is stripped of surrounding white space before it is parsed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})
# An error quotes at most this much of a bad value: enough to recognise it, never a page of it.
MAX_QUOTED_CHARS: Final = 20


class EnvError(ValueError):
    """An environment variable has a value that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class EnvReader:
    """Typed reads of ``env``; a value that cannot be used raises ``error`` (a ValueError
    subclass, so each settings module keeps its own exception type) with a message of the form
    ``NEXUS_X must be a number: a whole number ≥ 1, got 'abc'``."""

    env: Mapping[str, str]
    error: type[ValueError] = EnvError

    def whole(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """``name`` as a whole number ≥ ``minimum`` (and ≤ ``maximum`` if given), or
        ``default`` when unset.

        Accepts integer text (``60``, ``+60``, ``1_000``) and numbers without a fractional
        part (``60.0``, ``6e1``). Raises ``error`` for anything else or a value outside the
        bounds."""
        raw = self._raw(name)
        if raw is None:
            return default
        value = _whole_or_none(raw)
        if value is None or value < minimum:
            # One wording for text, fractions and small values alike: it says all that is asked.
            raise self.error(
                f"{name} must be a number: a whole number ≥ {minimum}, got {_quoted(raw)}"
            )
        if maximum is not None and value > maximum:
            raise self.error(f"{name} must be at most {maximum}, got {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """``name`` as a finite number ≥ ``minimum``, or ``default`` when unset.

        Accepts what ``float()`` accepts (``2.5``, ``1e3``) except NaN and the infinities.
        Raises ``error`` for anything else or a value below ``minimum``."""
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum:
            raise self.error(f"{name} must be a finite number ≥ {minimum:g}, got {_quoted(raw)}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """``name`` as a yes/no switch, or ``default`` when unset.

        Accepts 1/0, true/false, yes/no and on/off in any case. Raises ``error`` for anything
        else."""
        raw = self._raw(name)
        if raw is None:
            return default
        word = raw.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise self.error(
            f"{name} must be true or false (or yes/no, on/off, 1/0), got {_quoted(raw)}"
        )

    def _raw(self, name: str) -> str | None:
        """The stripped value of ``name``; None when it is unset or blank."""
        raw = self.env.get(name, "").strip()
        return raw or None


def _whole_or_none(raw: str) -> int | None:
    """``raw`` as an int if it is integer text or a float with no fractional part, else None."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return None
    # is_integer() is False for NaN and the infinities, which int() could not take anyway.
    return int(value) if value.is_integer() else None


def _quoted(raw: str) -> str:
    """``raw`` quoted for an error message, cut short after MAX_QUOTED_CHARS."""
    if len(raw) <= MAX_QUOTED_CHARS:
        return repr(raw)
    return repr(raw[:MAX_QUOTED_CHARS]) + "…"
