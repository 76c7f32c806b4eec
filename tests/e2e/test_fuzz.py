"""Thousands of odd activities posted over HTTP, as anyone who can reach the bot could send them:
none gets a 5xx, no turn fails part-way, and nothing they carry reaches the logs.

Bounded: a fixed count from a fixed seed (testkit/odd_activities.py), stopped early by a time
cap on a slow machine, with a floor on how many must have been sent for the test to mean anything.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from app import create_app
from bootstrap.build import escalation_service, open_storage
from bot.logs import JsonFormatter, PathAccessLogger
from bot.settings import AppSettings
from escalation.case import Case, fold
from escalation.packs import PackRegistry
from testkit.builders import redbridge_raise
from testkit.chat import PEOPLE, settings_with
from testkit.clocks import RunningClock
from testkit.connector import Connector, Sent, serve
from testkit.odd_activities import MARK, TENANT, Odd, OddActivities, OpenCase

COUNT = 5000
SECONDS = 120.0
AT_LEAST = 1000  # sent before the time cap, or the run proves too little
POLICIES = Path(__file__).resolve().parents[2] / "policies"
APP_ID = "00000000-0000-0000-0000-0000000000b0"
SORRY = "Sorry, something went wrong"


class AnyConversation(Connector):
    """The stand-in Bot Connector, taking a reply to any conversation id, however odd (one with
    a slash misses its routes). Teams would refuse some replies; a turn whose reply is refused
    ends in the adapter's turn-error handler, with a 201 all the same. Here, then, a turn that
    fails is the bot's own failure."""

    async def _anything(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.sent.append(Sent(request.method, request.path, "", body, None))
        return web.json_response({"id": "a0", "name": "Member"})

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_route("*", "/{anything:.*}", self._anything)
        return app


@dataclass
class Bot:
    url: str
    connector: AnyConversation
    http: aiohttp.ClientSession


@asynccontextmanager
async def started(settings: AppSettings, clock: RunningClock) -> AsyncIterator[Bot]:
    """The app on 127.0.0.1 with the access log main() gives it, and a stand-in connector."""
    stand_in = AnyConversation()
    async with serve(stand_in.app()) as connector_url:
        stand_in.url = connector_url
        app = create_app(settings, clock=clock)
        runner = web.AppRunner(app, access_log_class=PathAccessLogger)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                yield Bot(f"http://127.0.0.1:{port}", stand_in, http)
        finally:
            await runner.cleanup()


class Lines(logging.Handler):
    """Every log line as the deployed app writes it (JSON, with the case and activity ids)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    """Logs at INFO, the deployed level, from every logger (aiohttp, botbuilder, the bot's)."""
    caplog.set_level(logging.INFO)
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def stored_case(settings: AppSettings, case_id: str) -> Case:
    storage = await open_storage(settings.storage)
    try:
        stored = await storage.cases.load(case_id)
    finally:
        await storage.close()
    assert stored is not None
    return fold(stored.events)


async def open_case(settings: AppSettings, clock: RunningClock) -> OpenCase:
    """A case in the app's storage that Amara raised with Noah yesterday, by the app's clock,
    for card actions to act on."""
    yesterday = date.fromisoformat(clock.day(-1))
    storage = await open_storage(settings.storage)
    try:
        service = escalation_service(
            storage,
            PackRegistry.from_directory(POLICIES),
            now=clock,
        )
        opened = await service.execute(redbridge_raise(disagreement_date=yesterday))
    finally:
        await storage.close()
    return OpenCase(opened.case.id, opened.case.version, yesterday.isoformat())


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)  # the bodies of 4xx answers
    # Any 5xx is a fault.
    faults: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())


async def post_all(bot: Bot, odd: OddActivities, *, count: int, token: bool = False) -> Results:
    results = Results()
    deadline = time.monotonic() + SECONDS
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        request: Odd = odd.next()
        headers = {"Content-Type": request.content_type}
        if token:
            headers["Authorization"] = odd.forged_token()
        async with bot.http.post(
            bot.url + "/api/messages", data=request.body, headers=headers
        ) as response:
            text = await response.text()
        results.statuses[response.status] += 1
        if 400 <= response.status < 500:
            results.refusals.append(text)
        if response.status >= 500:
            results.faults.append((response.status, request.body[:300]))
    return results


def assert_nothing_sent_was_logged(lines: Lines, caplog: pytest.LogCaptureFixture) -> None:
    assert lines.lines, "the logs were not captured"
    leaked = [line for line in lines.lines if MARK in line]
    assert not leaked, leaked[:3]
    # caplog keeps each record as logged, with any exception's message and traceback.
    assert MARK not in caplog.text
    assert not [r for r in caplog.records if r.getMessage().startswith("turn failed")]


async def test_odd_activities_without_an_app_id(
    tmp_path: Path, lines: Lines, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(await settings_with(tmp_path, PEOPLE), allowed_tenants=frozenset({TENANT}))
    clock = RunningClock()
    opened = await open_case(settings, clock)
    async with started(settings, clock) as bot:
        odd = OddActivities(20261201, bot.connector.url, opened)
        results = await post_all(bot, odd, count=COUNT)
        replies = bot.connector.texts()
    case = await stored_case(settings, opened.id)
    print(f"\nwithout an app id: {results.sent} requests, {dict(sorted(results.statuses.items()))}")
    assert results.sent >= AT_LEAST
    assert not results.faults, results.faults[:5]
    # The fuzz reached the bot, and was refused for its shape, its tenant and its JSON.
    assert results.statuses[201] > 100 and results.statuses[400] > 500
    assert results.statuses[403] > 0 and results.statuses[415] > 0
    assert not [r for r in replies if SORRY in r]
    assert not [r for r in results.refusals if MARK in r], "a refusal repeated what was sent"
    problems = [json.loads(r) for r in results.refusals]
    assert all(isinstance(p.get("error"), str) for p in problems)
    assert any(p.get("field") for p in problems)
    # Card actions reached the case, and what they stored is text as typed, never Python's
    # text for a list or an object.
    assert case.records, "no card action reached the case"
    for record in case.records:
        for text in (record.summary, *record.participants):
            assert not text.startswith(("[", "{")), text
    assert_nothing_sent_was_logged(lines, caplog)


async def test_odd_activities_with_an_app_id_and_no_token_all_get_401(
    tmp_path: Path, lines: Lines, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(
        await settings_with(tmp_path, PEOPLE),
        app_id=APP_ID,
        app_password="secret",
        allowed_tenants=frozenset({TENANT}),
    )
    async with started(settings, RunningClock()) as bot:
        odd = OddActivities(seed=20261202, service_url=bot.connector.url)
        results = await post_all(bot, odd, count=COUNT // 2)
        forged = await post_all(bot, odd, count=COUNT // 5, token=True)
        sent = bot.connector.sent
    print(f"\nwith an app id, no token: {results.sent} requests, {dict(results.statuses)}")
    print(f"with an app id, forged tokens: {forged.sent} requests, {dict(forged.statuses)}")
    assert results.sent >= AT_LEAST and forged.sent >= AT_LEAST // 5
    assert results.statuses == Counter({401: results.sent})
    # A forged token gets through to botbuilder's check only with a well-formed activity; the
    # tenant allow-list is never reached, so never told (no 403).
    assert set(forged.statuses) <= {400, 401, 413, 415}, forged.statuses
    assert forged.statuses[401] > 0
    assert sent == []
    assert not [r for r in results.refusals + forged.refusals if MARK in r]
    assert_nothing_sent_was_logged(lines, caplog)
