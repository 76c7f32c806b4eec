"""Turns per second over HTTP, against baselines measured in the same run.

    .venv/bin/python -m benchmarks.turns [--requests 400] [--concurrency 8] [--seconds 60]

Three servers on 127.0.0.1, each answering through a local stand-in Bot Connector:
  bare     a plain aiohttp handler that answers 201 (the floor of the stack)
  echo     botbuilder's echo bot as it comes: CloudAdapter, a reply per message
  bot      this bot: a full dialog turn ("raise" then "cancel") with its state in SQLite,
           connector clients reused per service URL

Prints turns/s and p50/p99 latency for each, and the ratios. Bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from app import create_app
from bot.settings import AppSettings
from storage.settings import StorageSettings, open_storage
from tests.e2e.connector import connector, serve


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(f"Echo: {turn_context.activity.text}")


class _NoConfig:
    pass


def echo_app() -> web.Application:
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


TENANT = "00000000-0000-4000-8000-000000000001"  # the benchmark users' Microsoft Entra tenant


def activity(service_url: str, who: int, text: str, n: int) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"m{n}",
        "text": text,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:user{who}", "aadObjectId": f"aad-user{who}"},
        "recipient": {"id": "28:bot"},
        "locale": "en-GB",
        "conversation": {
            "id": f"a:conv{who}",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
    }


async def load(
    url: str, service_url: str, requests: int, concurrency: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = iter(range(requests))

    async def worker(who: int, http: aiohttp.ClientSession) -> None:
        for turn, n in enumerate(counter):
            if time.monotonic() > deadline:
                return
            text = "raise" if turn % 2 == 0 else "cancel"
            started = time.perf_counter()
            async with http.post(
                url + "/api/messages", json=activity(service_url, who, text, n)
            ) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"{url}: {r.status} {await r.text()}")
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(i, http) for i in range(concurrency)))
    return latencies


async def measure(
    name: str, make: Callable[[], Awaitable[web.Application]], args: argparse.Namespace
) -> dict[str, float]:
    async with connector() as stand_in, serve(await make()) as url:
        await load(
            url, stand_in.url, min(40, args.requests), args.concurrency, args.seconds
        )  # warm up
        started = time.perf_counter()
        latencies = await load(url, stand_in.url, args.requests, args.concurrency, args.seconds)
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "turns_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "n": len(latencies),
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage_settings = StorageSettings(None, Path(tmp) / "data")
        storage = await open_storage(storage_settings)
        await storage.directory.import_records(
            [
                {
                    "id": f"user{i}",
                    "name": f"User {i}",
                    "agency": "redbridge-asc",
                    "roles": ["practitioner"],
                    "teams_user_id": f"29:user{i}",
                    "aad_object_id": f"aad-user{i}",
                }
                for i in range(args.concurrency)
            ],
            # The users act for their agency only from a tenant it lists.
            [{"id": "redbridge-asc", "tenants": [TENANT]}],
        )
        await storage.close()

        async def ours() -> web.Application:
            return create_app(AppSettings(storage=storage_settings, dispatch_interval_seconds=60))

        async def bare() -> web.Application:
            return bare_app()

        async def echo() -> web.Application:
            return echo_app()

        results = {
            name: await measure(name, make, args)
            for name, make in (("bare", bare), ("echo", echo), ("bot", ours))
        }
    for name, r in results.items():
        print(
            f"{name:5} {r['turns_per_s']:8.1f} turns/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   ({r['n']:.0f} turns)"
        )
    bot, echo_r, bare_r = results["bot"], results["echo"], results["bare"]
    print(f"bot / echo (stock botbuilder): {bot['turns_per_s'] / echo_r['turns_per_s']:.2f}x")
    print(f"bot / bare aiohttp:            {bot['turns_per_s'] / bare_r['turns_per_s']:.3f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="stop each load after this long"
    )
    asyncio.run(main(parser.parse_args()))
