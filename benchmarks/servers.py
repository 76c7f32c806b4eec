"""One server of a benchmark, in a process of its own, on 127.0.0.1.

    .venv/bin/python -m benchmarks.servers KIND [--data DIR | --connection-string CS]
        [--prefix P] [--delay-ms N] [--profile FILE]

KIND is one of:
  bare   a plain aiohttp handler that answers 201 (the floor of the stack)
  echo   botbuilder's echo bot as it comes: CloudAdapter, a reply per message
  bot    this bot (app.create_app) on the embedded store in --data, or on Azure Table Storage
         (Azurite) with --connection-string; its table store counts the round trips of each
         turn (tests.round_trips: the X-Storage-Round-Trips response header) and, with
         --delay-ms, waits that long before every storage request, as a region's network would

Prints one line, {"port": N}, once it listens; stops on SIGTERM or when its standard input
closes (so it never outlives the benchmark that started it). With --profile it writes a
pyinstrument profile of its whole run to FILE (text) when it stops.

The Microsoft 365 Agents SDK's echo agent runs from its own virtualenv: benchmarks/agents_echo.py.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bootstrap.event_loop import new_event_loop
from storage.tables import TableStore
from testkit.clocks import RunningClock
from testkit.round_trips import CountingStore, WrappedStore, count_turns

T = TypeVar("T")


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(f"Echo: {turn_context.activity.text}")


class _NoConfig:
    pass


def echo_app() -> web.Application:
    """botbuilder's echo sample, as it comes."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_NoConfig()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


def bare_app() -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        await request.json()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


class DelayingStore(WrappedStore):
    """Waits `delay` seconds before every storage request: the network between the app and a
    storage account in its region (a few to tens of milliseconds a round trip). Benchmarks only."""

    def __init__(self, inner: TableStore, delay: float) -> None:
        super().__init__(inner)
        self.delay = delay

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        await asyncio.sleep(self.delay)
        return await call()


class GcPauses:
    """The garbage collector's pauses, by generation (gc.callbacks): a full collection that
    walks every object the app keeps is a pause every turn waiting then shares."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, list[float]]:
        """Per generation: [collections, longest pause in ms, all pauses in ms]."""
        return {f"gen{g}": [len(p), max(p, default=0.0), sum(p)] for g, p in self.pauses.items()}


def bot_app(args: argparse.Namespace) -> web.Application:
    from app import create_app
    from bot.settings import AppSettings
    from storage.settings import StorageSettings

    storage = StorageSettings(
        args.connection_string, Path(args.data or "data"), table_prefix=args.prefix
    )

    def wrap(store: TableStore) -> TableStore:
        if args.delay_ms:
            store = DelayingStore(store, args.delay_ms / 1000)
        return CountingStore(store)

    settings = AppSettings(storage=storage, dispatch_interval_seconds=5)
    # The day the benchmark's answers are written for (tests.support.TEST_DAY_START).
    app = create_app(settings, clock=RunningClock(), wrap_store=wrap)
    return count_turns(app, when_asked=True)


async def serve(app: web.Application) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=("bare", "echo", "bot"))
    parser.add_argument("--data", default=None)
    parser.add_argument("--connection-string", default=None)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--gc-log", default=None, help="write the collector's pauses to FILE")
    args = parser.parse_args()
    makers: dict[str, Callable[[], web.Application]] = {
        "bare": bare_app,
        "echo": echo_app,
        "bot": lambda: bot_app(args),
    }
    app = makers[args.kind]()
    pauses = GcPauses() if args.gc_log else None
    profiler: Any = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    try:
        # The bot on the loop the app runs on (bootstrap.event_loop); the baselines as their
        # samples run, on asyncio's own.
        loop_factory = new_event_loop if args.kind == "bot" else None
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(app))
    finally:
        if pauses is not None:
            pauses.stop()
            Path(args.gc_log).write_text(json.dumps(pauses.summary()))
        if profiler is not None:
            profiler.stop()
            Path(args.profile).write_text(
                profiler.output_text(unicode=False, color=False, show_all=False)
            )
            flat = Path(args.profile).with_suffix(".flat.txt")  # self time, by function
            flat.write_text(profiler.output_text(unicode=False, color=False, flat=True))


if __name__ == "__main__":
    main()
