"""The app's plain HTTP routes: a board's report (a signed link), liveness and readiness.

POST /api/messages is the Bot Framework's (bot/http.py); the Teams tabs are under /tabs/
(tabs/web.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from aiohttp import web

from bot.http import problem
from bot.report_links import ReportLinks
from escalation.access_log import AccessEntry, Seen, board_subject, record_access
from escalation.packs import PackRegistry
from reports.charts import render_charts
from reports.figures import board_report
from reports.load import board_cases
from reports.render import page_headers, to_html
from storage.stores import Storage

log = logging.getLogger("escalation.app")

Handler = Callable[[web.Request], Awaitable[web.Response]]


def add_routes(
    app: web.Application,
    *,
    packs: PackRegistry,
    links: ReportLinks,
    storage: Callable[[], Storage],
    clock: Callable[[], datetime],
) -> None:
    """`storage` gives the store the app opened at start-up (routes are added before)."""
    app.router.add_get("/reports/{board}/{start}/{end}", report_page(packs, links, storage, clock))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz(storage))


def report_page(
    packs: PackRegistry,
    links: ReportLinks,
    storage: Callable[[], Storage],
    clock: Callable[[], datetime],
) -> Handler:
    """A board's full report, for a signed link the bot gave a board role (see bot.report_links)."""

    async def respond(request: web.Request) -> web.Response:
        board_id = request.match_info["board"]
        try:
            start = date.fromisoformat(request.match_info["start"])
            end = date.fromisoformat(request.match_info["end"])
            pack = packs.get(board_id)
        except (ValueError, KeyError):
            return problem(404, "no such report")
        viewer = links.check(board_id, start, end, request.query)
        if viewer is None:
            return problem(
                403, "this link is not valid, or has expired: ask the bot for a new summary"
            )
        stored = storage()
        seen = AccessEntry(board_subject(board_id), viewer, Seen.REPORT, clock())
        await record_access(stored.access_log, seen)
        try:
            cases = await board_cases(stored, board_id)
        except Exception as exc:  # a storage outage: the link stays good, try again later
            log.warning("report page: storage did not answer: %s", type(exc).__name__)
            return problem(503, "the report cannot be read just now: try the link again shortly")
        report = board_report(cases, pack, start=start, end=end)
        # Drawing the charts is CPU work: keep it off the event loop.
        page = await asyncio.to_thread(lambda: to_html(report, render_charts(report)))
        return web.Response(text=page, content_type="text/html")

    async def handle(request: web.Request) -> web.Response:
        response = await respond(request)
        # The page and its refusals alike: a board's figures are never cached, framed or leaked
        # in a referrer.
        response.headers.update(page_headers())
        return response

    return handle


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def readyz(storage: Callable[[], Storage]) -> Handler:
    async def handle(_: web.Request) -> web.Response:
        try:
            await storage().store.ping()
        except Exception as exc:  # any storage fault means: not ready
            log.warning("not ready: storage did not answer: %s", type(exc).__name__)
            return problem(503, "storage is not reachable")
        return web.json_response({"status": "ready"})

    return handle
