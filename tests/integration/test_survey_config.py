"""A survey configuration with an error at start: one clear log line, the last good survey."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import redis

from chat_server.web.appkeys import SERVICES
from tests.integration.supervisor_helpers import FAST_CONFIG, day_counters, supervised_server
from tests.integration.test_evaluation_report import answer_survey, survey_file
from tests.support.servers import free_port, make_settings


async def test_a_broken_file_keeps_the_last_good_survey_running(
    redis_url: str, staff_file: Path, caplog: pytest.LogCaptureFixture, raw_redis: redis.Redis
) -> None:
    """Start with a good file, break it, start again: one ERROR line names the file and the
    problem, and the extra question of the last good file is still asked and counted."""
    path = survey_file(staff_file.parent)
    config = dataclasses.replace(FAST_CONFIG, survey_file=path)
    async with supervised_server(make_settings(redis_url, staff_file, free_port()), config):
        pass
    path.write_text('{"version": 1, "questions": [{"id": "x", "kind": "free_text"}]}', "utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        async with supervised_server(
            make_settings(redis_url, staff_file, free_port()), config
        ) as sup:
            survey = sup.app[SERVICES].survey
            assert survey is not None and survey.question("practical_help") is not None
            await answer_survey(sup, {"practical_help": "no"})
            today = sup.supervision.stats.today()
    refused = [r for r in caplog.records if "NEXUS_SURVEY_FILE" in r.getMessage()]
    assert [r.levelno for r in refused] == [logging.ERROR]
    assert refused[0].getMessage() == (
        f"NEXUS_SURVEY_FILE refused, {path}: questions[0].kind: must be one of scale, yes_no, "
        f"choice: using the last good copy {staff_file.parent / 'survey.last-good.json'}"
    )
    assert day_counters(raw_redis, today)["feedback:practical_help:no"] == 1
