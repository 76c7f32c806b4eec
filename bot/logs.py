"""Structured logs: one JSON object a line, with the case and the activity it concerns.

Log messages name ids (case, activity, verb, refusal code), never people or what they wrote:
safeguarding records are special category data and logs are not where they belong.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

case_id_var: ContextVar[str | None] = ContextVar("case_id", default=None)
activity_id_var: ContextVar[str | None] = ContextVar("activity_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "case_id": case_id_var.get(),
            "activity_id": activity_id_var.get(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send every log line to stdout as JSON (App Service and Application Insights read it)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
