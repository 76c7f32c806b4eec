"""Log lines are JSON, carry the case and activity they concern, and hold no personal data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, activity_id_var, case_id_var
from tests.e2e.test_conversation import PEOPLE, Chat, running, settings_with


class Lines(logging.Handler):
    """Formats each record as it is logged, as the deployed app's stdout handler does."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("escalation")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_line_is_json_with_case_and_activity() -> None:
    case_token, activity_token = case_id_var.set("RB-2026-ABCDEF"), activity_id_var.set("act-9")
    try:
        record = logging.LogRecord(
            "escalation.bot",
            logging.INFO,
            __file__,
            1,
            "card action %s refused",
            ("escalate",),
            None,
        )
        entry = json.loads(JsonFormatter().format(record))
    finally:
        case_id_var.reset(case_token)
        activity_id_var.reset(activity_token)
    assert entry["message"] == "card action escalate refused"
    assert (entry["case_id"], entry["activity_id"], entry["level"]) == (
        "RB-2026-ABCDEF",
        "act-9",
        "INFO",
    )


async def test_a_refused_card_action_logs_its_case_and_activity_and_no_names(
    tmp_path: Path, lines: Lines
) -> None:
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as chat:
        for text in (
            "raise",
            "NELFT NHS Foundation Trust",
            "Noah Okafor",
            "ASC-104233",
            "Eligibility criteria and access to services",
            "no",
            "no",
            "Nursing declined a visit",
            "Falls at home",
            "Whether a visit is needed",
            "A visit this week",
            "GP letter",
            "today",
        ):
            await chat.say("amara", text)
        opened = next(r for r in await chat.say("amara", "yes") if "is open" in r)
        case_id = opened.split()[1]
        status, _ = await chat.invoke(
            "noah",
            "escalate",
            {"case_id": case_id, "version": 1, "verb": "escalate", "escalate.reason": "x"},
        )
        assert status == 200
    entries = [json.loads(line) for line in lines.lines]
    refused = [e for e in entries if "refused" in e["message"]]
    assert refused and refused[-1]["case_id"] == case_id and refused[-1]["activity_id"]
    text = "\n".join(lines.lines)
    for person in PEOPLE:
        assert person["name"] not in text
    for secret in ("Falls at home", "ASC-104233", "Nursing declined"):
        assert secret not in text
