"""Structured logs: one JSON object a line, with the case and the activity it concerns.

Log messages name ids (case, activity, verb, refusal code), never people or what they wrote:
safeguarding records are special category data and logs are not where they belong. Anything a
caller sends can end up in an exception's message, so a logged error keeps its type and where it
happened, not its message; the access log keeps a request's path, not its query (a report link's
signature is in the query).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

case_id_var: ContextVar[str | None] = ContextVar("case_id", default=None)
activity_id_var: ContextVar[str | None] = ContextVar("activity_id", default=None)


def trace_without_messages(error: BaseException) -> str:
    """Where an error happened: each frame and each exception's type, through its causes, with
    none of their messages (which may repeat what a caller sent)."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if lines:
            lines.append("which came from:")
        for frame in traceback.extract_tb(current.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        lines.append(type(current).__qualname__)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    return "\n".join(lines)


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
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = type(record.exc_info[1]).__name__
            entry["trace"] = trace_without_messages(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)


class PathAccessLogger(AbstractAccessLogger):
    """aiohttp's access log line: method, path without its query, status and time taken.

    aiohttp's default line holds the request line, query and all, so every signed report link
    (/reports/...?expires=..&sig=..) would be written to the log whole.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.rel_url.raw_path,  # percent-encoded, so a path cannot break the line
            response.status,
            time * 1000,
        )


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send every log line to stdout as JSON (App Service and Application Insights read it)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
