"""The composition root: settings → storage → core service → adapter and bot → dispatcher.

python app.py        (or: gunicorn 'app:create_app()' --worker-class aiohttp.GunicornWebWorker)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot.adapter import LeanCloudAdapter
from bot.connector import CachingBotFrameworkAuthentication
from bot.http import BotTurns, messages_handler, problem
from bot.join_actions import JoinNoticeSender
from bot.logs import PathAccessLogger, configure_json_logging
from bot.report_links import ReportLinks
from bot.sender import TeamsSender
from bot.settings import AppSettings
from bot.teams_bot import EscalationBot
from bot.telemetry import carry_context_into_threads, configure_telemetry, ids_on_request_span
from escalation.access_log import AccessEntry, Seen, board_subject, record_access
from escalation.commands import RecordDeliveryFailure
from escalation.errors import Refused
from escalation.joining import BoardAgencies
from escalation.notifications import Notification
from escalation.packs import PackRegistry, default_policy_dir, resolve_pack
from escalation.rules.context import SYSTEM
from escalation.service import EscalationService
from reports.charts import render_charts
from reports.figures import board_report
from reports.load import board_cases
from reports.render import page_headers, to_html
from storage.bot_state import TableConversationState, TableStorage
from storage.join_requests import deliver_notices
from storage.outbox import dispatch_once
from storage.scheduler import Scheduler
from storage.settings import Storage, open_storage, when_storage_answers
from storage.tables import StorageError, TableStore
from tabs.web import make_site, setup_tabs

log = logging.getLogger("escalation.app")

SETTINGS = web.AppKey("settings", AppSettings)
STORAGE = web.AppKey("storage", Storage)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", EscalationBot)
PACKS = web.AppKey("packs", PackRegistry)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
StoreWrapper = Callable[[TableStore], TableStore]
WRAP_STORE: web.AppKey[StoreWrapper | None] = web.AppKey("wrap_store")


def load_packs(settings: AppSettings) -> PackRegistry:
    directory = settings.policy_dir or default_policy_dir()
    if not settings.policies:
        return PackRegistry.from_directory(directory)
    return PackRegistry(resolve_pack(name, directory) for name in settings.policies)


def utc_now() -> datetime:
    return datetime.now(UTC)


class WakeDispatcher:
    """The core's notifier: the messages are already in the outbox; wake the dispatcher."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def notify(self, notifications: Sequence[Notification]) -> None:
        if notifications:
            self.event.set()


WAKE = web.AppKey("wake", WakeDispatcher)
SERVICE = web.AppKey("service", EscalationService)
LINKS = web.AppKey("links", ReportLinks)


async def _gc_ctx(app: web.Application) -> AsyncIterator[None]:
    """Once started, what start-up made (packs, the directory, modules) is moved out of the
    garbage collector's way: its full collections, which otherwise walk all of it again and
    again, become short pauses (the tail of turns' latency)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


async def _connector_ctx(app: web.Application) -> AsyncIterator[None]:
    """The connection pool the Bot Connector's requests go on, closed when the app stops."""
    yield
    auth = app[ADAPTER].bot_framework_authentication
    if isinstance(auth, CachingBotFrameworkAuthentication):
        await auth.close()


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # A new deployment's table role takes minutes to spread: Azure storage is tried again with
    # backoff for up to STORAGE_START_WAIT_SECONDS; until then the app does not answer, so /readyz
    # fails.
    storage = await when_storage_answers(
        settings.storage,
        lambda: open_storage(settings.storage, now=app[CLOCK], wrap=app[WRAP_STORE]),
    )
    log.info("storage: %s", settings.storage.describe())
    app[STORAGE] = storage
    wake = WakeDispatcher()
    app[WAKE] = wake
    service = EscalationService(
        packs=app[PACKS],
        repository=storage.cases,
        directory=storage.directory,
        notifier=wake,
        now=app[CLOCK],
    )
    app[SERVICE] = service
    state = TableConversationState(
        TableStorage(storage.store, storage.tables.bot_state, now=app[CLOCK])
    )
    app[BOT] = EscalationBot(
        storage=storage,
        packs=app[PACKS],
        service=service,
        conversation_state=state,
        now=app[CLOCK],
        links=app[LINKS],
    )
    # The directory is read now and then in the background, so that no turn waits for it.
    try:
        await storage.directory.refresh()
    except StorageError:
        log.warning("the directory could not be read at start; the first turns will read it")
    fresh = asyncio.create_task(storage.directory.keep_fresh(), name="directory-refresh")
    yield
    fresh.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await fresh
    await storage.close()


async def record_failure(
    service: EscalationService, notification: Notification, error: str
) -> None:
    """A message that can never arrive is recorded on its case, and someone is told (by hand)."""
    if notification.recipient.kind != "person":
        log.error(
            "business-manager copy for %s could not be delivered: %s", notification.case_id, error
        )
        return
    try:
        await service.execute(
            RecordDeliveryFailure(
                actor_id=SYSTEM,
                case_id=notification.case_id,
                recipient_id=notification.recipient.id,
                kind=notification.kind,
                error=error,
            )
        )
    except Refused as refusal:
        log.info("delivery failure on %s not recorded: %s", notification.case_id, refusal.code)


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Sweeps for nudges every so often; the lease lets one instance sweep at a time."""
    settings = app[SETTINGS]
    storage = app[STORAGE]
    scheduler = Scheduler(
        store=storage.store,
        tables=storage.tables,
        cases=storage.cases,
        packs=app[PACKS],
        directory=storage.directory,
        conversations=storage.conversations,
    )
    await scheduler.ensure_tables()

    async def run() -> None:
        while True:
            try:
                report = await scheduler.sweep(app[CLOCK]())
                if report.queued:
                    log.info("sweep: %d nudge(s) queued", len(report.queued))
                    app[WAKE].event.set()
                if report.no_pack:
                    log.warning("sweep: %d case(s) of a board with no pack", len(report.no_pack))
            except Exception:  # storage outage: the next sweep finds the same clocks
                log.exception("sweep failed; will try again")
            await asyncio.sleep(settings.sweep_interval_seconds)

    task = asyncio.create_task(run(), name="scheduler")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """Sends the outbox: woken after each change, and every few seconds for retries."""
    settings = app[SETTINGS]
    sender = TeamsSender(
        adapter=app[ADAPTER],
        app_id=settings.app_id,
        storage=app[STORAGE],
        packs=app[PACKS],
        now=app[CLOCK],
        links=app[LINKS],
    )
    packs: PackRegistry = app[PACKS]
    notices = JoinNoticeSender(sender, app[STORAGE], BoardAgencies.of(packs))
    wake = app[WAKE]

    async def run() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.event.wait(), settings.dispatch_interval_seconds)
            wake.event.clear()
            await deliver_request_notices(app[STORAGE], notices, app[CLOCK]())
            try:
                with sender.one_pass():
                    report = await dispatch_once(app[STORAGE].outbox, sender, app[CLOCK]())
                for notification, error in report.failures:
                    await record_failure(app[SERVICE], notification, error)
                if report.sent or report.failed:
                    log.info(
                        "outbox: %d sent, %d retried, %d failed",
                        len(report.sent),
                        len(report.retried),
                        len(report.failed),
                    )
            except Exception:  # storage outage: the messages wait in the outbox
                log.exception("outbox dispatch failed; will try again")

    task = asyncio.create_task(run(), name="outbox-dispatcher")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def deliver_request_notices(
    storage: Storage, notices: JoinNoticeSender, now: datetime
) -> None:
    """The approval cards of requests to join an agency, and their decisions: stored with the
    request, sent from here, and retried until they arrive."""
    try:
        report = await deliver_notices(storage.requests, notices, now)
    except Exception:  # storage outage: the notices wait in storage
        log.exception("request notices failed; will try again")
        return
    for key in report.failed:
        log.error("a request notice can never be delivered: %s", key)
    if report.sent or report.retried:
        log.info("request notices: %d sent, %d retried", len(report.sent), len(report.retried))


async def report_page(request: web.Request) -> web.Response:
    """A board's full report, for a signed link the bot gave a board role (see bot.report_links)."""

    async def respond() -> web.Response:
        board_id = request.match_info["board"]
        try:
            start = date.fromisoformat(request.match_info["start"])
            end = date.fromisoformat(request.match_info["end"])
            pack = request.app[PACKS].get(board_id)
        except (ValueError, KeyError):
            return problem(404, "no such report")
        viewer = request.app[LINKS].check(board_id, start, end, request.query)
        if viewer is None:
            return problem(
                403, "this link is not valid, or has expired: ask the bot for a new summary"
            )
        storage = request.app[STORAGE]
        seen = AccessEntry(board_subject(board_id), viewer, Seen.REPORT, request.app[CLOCK]())
        await record_access(storage.access_log, seen)
        try:
            cases = await board_cases(storage, board_id)
        except Exception as exc:  # a storage outage: the link stays good, try again later
            log.warning("report page: storage did not answer: %s", type(exc).__name__)
            return problem(503, "the report cannot be read just now: try the link again shortly")
        report = board_report(cases, pack, start=start, end=end)
        # Drawing the charts is CPU work: keep it off the event loop.
        page = await asyncio.to_thread(lambda: to_html(report, render_charts(report)))
        return web.Response(text=page, content_type="text/html")

    response = await respond()
    # The page and its refusals alike: a board's figures are never cached, framed or leaked
    # in a referrer.
    response.headers.update(page_headers())
    return response


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORAGE].store.ping()
    except Exception as exc:  # any storage fault means: not ready
        log.warning("not ready: storage did not answer: %s", type(exc).__name__)
        return problem(503, "storage is not reachable")
    return web.json_response({"status": "ready"})


def create_app(
    settings: AppSettings | None = None,
    clock: Clock = utc_now,
    *,
    wrap_store: StoreWrapper | None = None,
) -> web.Application:
    """The app; `clock` is the one time source of the core, the sender and the scheduler.
    `wrap_store` wraps the table store once it is opened (benchmarks and tests count and delay
    its calls; the deployed app never sets it)."""
    if settings is None:  # started by gunicorn ('app:create_app()'): the deployed app
        settings = AppSettings.from_env()
        if os.environ.get("LOG_FORMAT", "json") == "json":
            configure_json_logging()
    middlewares = []
    if settings.telemetry_connection_string:
        # Before the application is made: the request spans wrap every application made after.
        configure_telemetry(settings.telemetry_connection_string)
        middlewares.append(ids_on_request_span)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    if settings.telemetry_connection_string:
        app.on_startup.append(carry_context_into_threads)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[WRAP_STORE] = wrap_store
    app[PACKS] = load_packs(settings)
    if not settings.report_link_secret:
        log.warning(
            "no REPORT_LINK_SECRET: report links work only on this instance, until it restarts"
        )
    base_url = settings.public_base_url or f"http://{settings.host}:{settings.port}"
    app[LINKS] = ReportLinks(
        settings.report_link_secret or secrets.token_bytes(32), base_url, clock
    )
    auth = CachingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication(settings))
    adapter = LeanCloudAdapter(auth)  # botbuilder's, without deep copies of what it sends
    adapter.on_turn_error = _on_turn_error
    app[ADAPTER] = adapter
    if settings.anonymous:
        log.warning(
            "no MicrosoftAppId: running without authentication, for local use only; replies go "
            "only to a serviceUrl on this machine"
        )

    app.router.add_post(
        "/api/messages",
        messages_handler(
            BotTurns(adapter, lambda: app[BOT]),
            anonymous=settings.anonymous,
            allowed_tenants=settings.allowed_tenants,
        ),
    )
    app.router.add_get("/reports/{board}/{start}/{end}", report_page)
    # The Teams tabs ("My cases", the board's figures): pages of this app, signed in as Teams
    # does, on loopback too in a local run.
    setup_tabs(app, make_site(settings, app[PACKS], lambda: app[STORAGE], clock))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.cleanup_ctx.append(_connector_ctx)
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_dispatcher_ctx)
    app.cleanup_ctx.append(_scheduler_ctx)
    app.cleanup_ctx.append(_gc_ctx)
    return app


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    log.exception("turn failed: %s", type(error).__name__, exc_info=error)
    with contextlib.suppress(Exception):
        await context.send_activity("Sorry, something went wrong on my side. Nothing was changed.")


def main() -> None:
    from bot.settings import exit_cannot_start

    configure_json_logging()
    try:
        settings = AppSettings.from_env()
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            access_log_class=PathAccessLogger,  # the log keeps no report link's signature
        )
    except Exception as exc:  # a bad setting or pack, storage, the port: one message, exit 2
        exit_cannot_start(exc)


if __name__ == "__main__":
    main()
