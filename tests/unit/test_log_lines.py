"""A log line is JSON, carries the case and activity it concerns, and names an error by its type
and place, never its message."""

from __future__ import annotations

import json
import logging
import sys

from bot.logs import JsonFormatter, activity_id_var, case_id_var


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


SENT = "<sent by the caller>"


def test_an_error_is_logged_by_its_type_and_place_never_its_message() -> None:
    try:
        try:
            raise KeyError(SENT)
        except KeyError as exc:
            raise ValueError(f"could not read {SENT}") from exc
    except ValueError:
        record = logging.LogRecord(
            "escalation.app", logging.ERROR, __file__, 1, "turn failed: %s", ("X",), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["error"] == "ValueError"
    trace = entry["trace"]
    assert "ValueError" in trace and "KeyError" in trace  # the cause is kept, by its type
    assert "test_log_lines.py" in trace and "test_an_error_is_logged" in trace
    assert SENT not in json.dumps(entry)
