"""The app: settings → the bootstrap (storage, the core's service, the dispatcher) → botbuilder's
adapter and the bot → the routes. Built by `create_app`; nothing runs at import.

python app.py        (or: gunicorn 'app:create_app()' --worker-class aiohttp.GunicornUVLoopWebWorker)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bootstrap.build import (
    Clock,
    StoreWrapper,
    escalation_service,
    load_packs,
    open_storage_at_start,
    scheduler,
    utc_now,
)
from bootstrap.dispatch import WakeDispatcher, dispatch_forever, running, sweep_forever
from bootstrap.event_loop import new_event_loop
from bootstrap.settings import app_settings
from bot.adapter import LeanCloudAdapter
from bot.connector import CachingBotFrameworkAuthentication
from bot.dialog_memory import defer_dialog_memory
from bot.http import BotTurns, messages_handler
from bot.join_actions import JoinNoticeSender
from bot.logs import PathAccessLogger, configure_json_logging
from bot.report_links import ReportLinks
from bot.routes import add_routes
from bot.sender import TeamsSender
from bot.settings import AppSettings
from bot.teams_bot import EscalationBot
from bot.telemetry import carry_context_into_threads, configure_telemetry, ids_on_request_span
from bot.turn_errors import turn_error_message
from escalation.joining import BoardAgencies
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from storage.bot_state import TableConversationState, TableStorage
from storage.stores import Storage
from storage.tables import StorageError
from tabs.web import make_site, setup_tabs

log = logging.getLogger("escalation.app")

SETTINGS = web.AppKey("settings", AppSettings)
STORAGE = web.AppKey("storage", Storage)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", EscalationBot)
PACKS = web.AppKey("packs", PackRegistry)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
WRAP_STORE: web.AppKey[StoreWrapper | None] = web.AppKey("wrap_store")
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
    # A new deployment's table role takes minutes to spread: Azure storage is tried again with
    # backoff for up to STORAGE_START_WAIT_SECONDS; until then the app does not answer, so /readyz
    # fails.
    storage = await open_storage_at_start(
        app[SETTINGS].storage, now=app[CLOCK], wrap=app[WRAP_STORE]
    )
    app[STORAGE] = storage
    wake = WakeDispatcher()
    app[WAKE] = wake
    service = escalation_service(storage, app[PACKS], now=app[CLOCK], notifier=wake)
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
    async with running(fresh):
        yield
    await storage.close()


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Sweeps for nudges every so often; the lease lets one instance sweep at a time."""
    sweeper = await scheduler(app[STORAGE], app[PACKS])
    interval = app[SETTINGS].sweep_interval_seconds
    work = sweep_forever(sweeper, app[WAKE], app[CLOCK], interval)
    async with running(asyncio.create_task(work, name="scheduler")):
        yield


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
    work = dispatch_forever(
        app[STORAGE],
        app[SERVICE],
        sender,
        notices,
        app[WAKE],
        app[CLOCK],
        settings.dispatch_interval_seconds,
    )
    async with running(asyncio.create_task(work, name="outbox-dispatcher")):
        yield


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
        settings = app_settings()
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
    app[PACKS] = load_packs(settings.policies, settings.policy_dir)
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
    defer_dialog_memory()  # botbuilder's dialog contexts, without a memory manager each (a cycle)
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
    add_routes(app, packs=app[PACKS], links=app[LINKS], storage=lambda: app[STORAGE], clock=clock)
    # The Teams tabs ("My cases", the board's figures): pages of this app, signed in as Teams
    # does, on loopback too in a local run.
    setup_tabs(app, make_site(settings, app[PACKS], lambda: app[STORAGE], clock))
    app.cleanup_ctx.append(_connector_ctx)
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_dispatcher_ctx)
    app.cleanup_ctx.append(_scheduler_ctx)
    app.cleanup_ctx.append(_gc_ctx)
    return app


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    log.exception("turn failed: %s", type(error).__name__, exc_info=error)
    with contextlib.suppress(Exception):
        await context.send_activity(turn_error_message(context))


def main() -> None:
    from bot.settings import exit_cannot_start

    configure_json_logging()
    try:
        settings = app_settings()
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            access_log_class=PathAccessLogger,  # the log keeps no report link's signature
            loop=new_event_loop(),
        )
    except Exception as exc:  # a bad setting or pack, storage, the port: one message, exit 2
        exit_cannot_start(exc)


if __name__ == "__main__":
    main()
