"""A whole Redbridge case over HTTP on the real engine (Azure Table Storage, as Azurite serves it),
with every storage request made to wait as a region's network would.

    .venv/bin/python -m benchmarks.case_on_azurite [--delay-ms 10] [--repeat 3]

The bot runs in a process of its own (benchmarks.servers) on Azurite, once with no added delay
and once with `--delay-ms` before every storage request (a wrapper around the table store, used
only here). The case is walked as testkit.walk walks it: everyone opens the bot,
the business manager sets the channel, Amara raises the case by chatting, then every step is a
card action, to the Chair's recommendations, the agencies' responses and the closure. `--repeat`
walks it that many times on each run.

For each kind of turn it prints the turn's time in the server (its median), its sequential
storage round trips (the longest chain of calls each waiting on the one before: tests.round_trips),
and the delayed run against the undelayed one: the extra time of a turn should be about its
sequential round trips times the delay, not its number of calls. Bounded: each walk is a few
dozen turns, and every request times out.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from benchmarks.harness import our_server, server
from bootstrap.build import open_storage
from storage.settings import StorageSettings
from testkit.azurite import AZURITE_TABLE, running_azurite
from testkit.chat import TENANT
from testkit.clocks import RunningClock
from testkit.connector import connector
from testkit.people import agencies_for
from testkit.round_trips import ASK_HEADER, HEADER, header_fields
from testkit.walk import PEOPLE, Walk, card_actions_to_close, raise_case

KINDS = ("first message", "help", "dialog step", "raise", "card action", "case card")


class Timed(Walk):
    label: str = ""
    turns: list[tuple[str, float, int, int]]


def tracing(walk: list[Timed]) -> aiohttp.TraceConfig:
    """Records each answer's HEADER under the walk's current label."""
    config = aiohttp.TraceConfig()

    async def ended(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        fields = header_fields(params.response.headers.get(HEADER))
        if fields and walk:
            w = walk[0]
            w.turns.append(
                (w.label, float(fields["ms"]), int(fields["sequential"]), int(fields["calls"]))
            )

    config.on_request_end.append(ended)
    return config


async def walk_case(w: Timed) -> None:
    w.label = "first message"
    for p in PEOPLE:
        await w.say(p["id"], "hello")
    w.label = "help"
    await w.say("amara", "help")
    w.label = "set channel"
    await w.in_channel("bm", "set channel")

    async def labelled(who: str, text: str) -> list[str]:
        w.label = "raise" if text == "yes" else "dialog step"
        return await w.say(who, text)

    case_id = await raise_case(w, say=labelled)
    for who, verb, fields in card_actions_to_close(w.clock.day()):
        w.label = "(untimed)"  # Walk.act reads the case's version first, outside any turn
        version = (await w.case(case_id)).version
        data: dict[str, Any] = {"case_id": case_id, "version": version, "verb": verb}
        data.update({k if k == "record_id" else f"{verb}.{k}": v for k, v in fields.items()})
        w.label = "card action"
        status, response = await w.invoke(who, verb, data)
        assert status == 200, response
    w.label = "case card"
    await w.say("amara", f"case {case_id}")


async def run(
    connection_string: str, delay_ms: float, repeat: int
) -> list[tuple[str, float, int, int]]:
    prefix = "b" + uuid.uuid4().hex[:10]
    with tempfile.TemporaryDirectory() as tmp:
        settings = StorageSettings(connection_string, Path(tmp), table_prefix=prefix)
        storage = await open_storage(settings)
        try:
            await storage.directory.import_records(PEOPLE, agencies_for(PEOPLE, TENANT))
        finally:
            await storage.close()
        extra = ["--connection-string", connection_string, "--prefix", prefix]
        extra += ["--delay-ms", str(delay_ms)]
        holder: list[Timed] = []
        turns: list[tuple[str, float, int, int]] = []
        timeout = aiohttp.ClientTimeout(total=60)
        async with (
            connector() as stand_in,
            server(our_server("bot", *extra)) as served,
            aiohttp.ClientSession(
                trace_configs=[tracing(holder)], timeout=timeout, headers={ASK_HEADER: "1"}
            ) as http,
        ):
            for _ in range(repeat):
                w = Timed(served.url, stand_in, http, itertools.count(1), settings, RunningClock())
                w.turns = []
                holder[:] = [w]
                await walk_case(w)
                turns += w.turns
    return turns


def summary(turns: list[tuple[str, float, int, int]]) -> dict[str, tuple[float, int, float, int]]:
    by: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for label, ms, sequential, calls in turns:
        by[label].append((ms, sequential, calls))
    return {
        label: (
            statistics.median(t[0] for t in found),
            max(t[1] for t in found),
            statistics.mean(t[2] for t in found),
            len(found),
        )
        for label, found in by.items()
        if label != "(untimed)"
    }


async def main(args: argparse.Namespace) -> None:
    if not AZURITE_TABLE.exists():
        raise SystemExit(f"Azurite is not installed ({AZURITE_TABLE}): run `npm install`")
    with tempfile.TemporaryDirectory() as work, running_azurite(Path(work)) as connection_string:
        plain = summary(await run(connection_string, 0.0, args.repeat))
        delayed = summary(await run(connection_string, args.delay_ms, args.repeat))
    print(
        f"A whole Redbridge case on Azurite, {args.repeat} walk(s); each turn's time in the "
        f"server (median), without and with {args.delay_ms:g} ms before every storage request"
    )
    print(
        f"{'turn':<14} {'n':>3} {'sequential':>10} {'calls':>6} {'0 ms':>9} "
        f"{f'{args.delay_ms:g} ms':>9} {'added':>8} {'added / delay':>13}"
    )
    for label in [*KINDS, *sorted(set(plain) - set(KINDS))]:
        if label not in plain or label not in delayed:
            continue
        ms0, seq, calls, n = plain[label]
        ms1 = delayed[label][0]
        added = ms1 - ms0
        print(
            f"{label:<14} {n:>3} {seq:>10} {calls:>6.1f} {ms0:>8.1f}ms {ms1:>8.1f}ms "
            f"{added:>6.1f}ms {added / args.delay_ms if args.delay_ms else 0:>12.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parsed = parser.parse_args()
    parsed.repeat = max(1, min(parsed.repeat, 20))
    asyncio.run(main(parsed))
