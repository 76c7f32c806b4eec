"""Log lines are JSON, carry the case and activity they concern, and hold no personal data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from app import LINKS, create_app
from bot.logs import JsonFormatter, PathAccessLogger
from bot.settings import AppSettings
from storage.settings import StorageSettings
from testkit.chat import PEOPLE, Chat, running, settings_with


class Lines(logging.Handler):
    """Formats each record as it is logged, as the deployed app's stdout handler does."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


SENT = "<sent by the caller>"  # a marker no log line may hold


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
        assert str(person["name"]) not in text
    for secret in ("Falls at home", "ASC-104233", "Nursing declined"):
        assert secret not in text


async def test_a_refused_activity_logs_the_field_and_not_what_was_sent(
    tmp_path: Path, lines: Lines
) -> None:
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as chat:
        for field, value in (("text", [SENT]), ("id", SENT), ("timestamp", SENT)):
            body = chat.activity("amara", **{field: value})
            async with chat.http.post(chat.url + "/api/messages", json=body) as r:
                assert (r.status, (await r.json())["field"]) == (400, field)
    text = "\n".join(lines.lines)
    for field in ("text", "id", "timestamp"):
        assert f"refused a malformed activity: field {field}" in text
    assert SENT not in text


async def test_the_access_log_keeps_a_report_links_path_and_not_its_signature(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    app = create_app(AppSettings(storage=StorageSettings(None, tmp_path / "data")))
    link = urlsplit(app[LINKS].make("redbridge", date(2026, 4, 1), date(2026, 4, 30), viewer="bm"))
    signature = parse_qs(link.query)["sig"][0]
    runner = web.AppRunner(app, access_log_class=PathAccessLogger)  # as main() runs it
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}{link.path}?{link.query}"
            async with http.get(url) as r:
                assert r.status == 200
    finally:
        await runner.cleanup()
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert line.startswith(f"GET {link.path} 200 ")
    assert signature not in caplog.text and "sig=" not in caplog.text
    assert "expires" not in caplog.text


def test_the_app_is_run_with_that_access_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as composition

    for name in ("MicrosoftAppId", "MicrosoftAppPassword", "STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path / "data"))
    ran: dict[str, Any] = {}
    monkeypatch.setattr(composition, "configure_json_logging", lambda: None)
    monkeypatch.setattr(web, "run_app", lambda app, **options: ran.update(options))
    composition.main()
    loop = ran["loop"]
    try:
        assert ran["access_log_class"] is PathAccessLogger
        assert type(loop).__module__.startswith("uvloop")  # bootstrap.event_loop's choice
    finally:
        loop.close()
