"""Loading the post-chat survey's questions at start, with the last good one as fallback.

Without ``NEXUS_SURVEY_FILE`` the shipped ``chat_server/data/survey.json`` is used. With it,
the file is read and validated strictly (:func:`chat_server.domain.survey.parse_survey`):

* valid: it is used, and a copy is written to ``<NEXUS_DATA_DIR>/survey.last-good.json``
  (written whole, then renamed, mode 0600);
* missing, unreadable, not JSON or invalid: one clear ``ERROR`` line names the file and the
  problem, and the service starts anyway with the **last good** survey: that cached copy if
  it is still valid, else the shipped default. A bad edit never stops the chat.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from .domain.survey import Survey, SurveyConfigError, parse_survey

log = logging.getLogger(__name__)

SHIPPED_SURVEY = Path(str(resources.files("chat_server") / "data" / "survey.json"))
LAST_GOOD_NAME: Final = "survey.last-good.json"
MAX_SURVEY_FILE_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class LoadedSurvey:
    """The survey in force and where it came from: ``configured``, ``last_good`` or
    ``shipped``."""

    survey: Survey
    source: str


def read_survey_file(path: Path) -> Survey:
    """The survey in ``path``; raises :class:`SurveyConfigError` naming the file and the
    problem (unreadable, too large, not JSON, or what :func:`parse_survey` refuses)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SURVEY_FILE_BYTES + 1)
    except OSError as error:
        raise SurveyConfigError(f"{path}: cannot be read ({error.strerror})") from None
    if len(raw) > MAX_SURVEY_FILE_BYTES:
        raise SurveyConfigError(f"{path}: larger than {MAX_SURVEY_FILE_BYTES} bytes")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SurveyConfigError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SurveyConfigError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    try:
        return parse_survey(document)
    except SurveyConfigError as error:
        raise SurveyConfigError(f"{path}: {error}") from None


def shipped_survey() -> Survey:
    """The default survey shipped with the service (it is tested, so it always parses)."""
    return read_survey_file(SHIPPED_SURVEY)


def _keep_last_good(source: Path, data_dir: Path) -> None:
    target = data_dir / LAST_GOOD_NAME
    temporary = target.with_suffix(".tmp")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        log.warning("survey: could not keep a last good copy in %s (%s)", target, error.strerror)


def load_survey(path: Path | None, data_dir: Path) -> LoadedSurvey:
    """The survey to use from now on (see the module docstring); never raises for a bad
    configured file, logs one ``ERROR`` line instead."""
    if path is None:
        return LoadedSurvey(shipped_survey(), "shipped")
    try:
        survey = read_survey_file(path)
    except SurveyConfigError as error:
        fallback = _last_good(data_dir)
        used = (
            f"the last good copy {data_dir / LAST_GOOD_NAME}" if fallback.source == "last_good"
            else "the shipped default survey"
        )  # fmt: skip
        log.error("NEXUS_SURVEY_FILE refused, %s: using %s", error, used)
        return fallback
    _keep_last_good(path, data_dir)
    return LoadedSurvey(survey, "configured")


def _last_good(data_dir: Path) -> LoadedSurvey:
    cached = data_dir / LAST_GOOD_NAME
    if cached.is_file():
        try:
            return LoadedSurvey(read_survey_file(cached), "last_good")
        except SurveyConfigError:
            pass
    return LoadedSurvey(shipped_survey(), "shipped")
