"""Turns per second over HTTP, for each kind of turn, against baselines measured in the same run.

    .venv/bin/python -m benchmarks.turns [--users 20] [--requests 400] [--seconds 60]
        [--kinds help,dialog,card,raise] [--profile DIR]

Each server runs in a process of its own on 127.0.0.1 (benchmarks.servers); this process sends
the turns and plays the Bot Connector that the replies go to. The baselines:
  bare     a plain aiohttp handler that answers 201 (the floor of the stack)
  echo     botbuilder's echo bot as it comes: CloudAdapter, a reply per message
  agents   the Microsoft 365 Agents SDK's echo agent (its quickstart, anonymous), when
           .venv-agents has it (benchmarks/README.md says how to install it)
and this bot, on the embedded store, for each kind of turn:
  help     a message the bot answers from its help text
  dialog   a step of the raise dialog ("raise" then "cancel", in turn)
  card     a card button (Action.Execute invoke): a discussion recorded on a case
  raise    the last answer of the raise dialog ("yes"), which saves the case: each user's
           dialog is walked to that question once, and put back there before each round
Every kind runs with `--users` users at once, each sending its next turn when the last one is
answered, bounded by `--requests` and `--seconds`; its first turns (200 of a baseline's, 100 of
the bot's) warm the server up in the same loop and are not counted (`harness.closed_loop`).
Prints turns/s, p50 and p99 latency, the storage round trips of the bot's turns
(tests.round_trips), and the ratios. The echo bot is also run just before each of this bot's
kinds and after the last, and each kind's turns a second is given against the faster of its two
neighbours: the machine's speed drifts over a whole run, less over one kind.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from benchmarks.bot_turns import BotTurns, RaiseRounds, drained, on_cpu, seed
from benchmarks.harness import (
    AGENTS_ENV,
    Client,
    NewCaseIds,
    Result,
    Served,
    Turn,
    agents_server,
    closed_loop,
    our_server,
    server,
    user,
)
from bootstrap.build import open_storage
from storage.settings import StorageSettings
from testkit.connector import Connector, connector

KINDS = ("help", "dialog", "card", "raise")


async def baseline(name: str, command: list[str] | None, args: argparse.Namespace) -> Result | None:
    if command is None:
        return None
    async with (
        connector() as stand_in,
        server(command, env=AGENTS_ENV if name == "agents" else None) as served,
        aiohttp.ClientSession() as http,
    ):
        client = Client(served.url, stand_in, http)

        async def hello(i: int, n: int) -> Turn:
            return await client.say(user(i), "hello")

        warm = min(200, args.requests)
        return await on_cpu(
            served,
            lambda timed: closed_loop(
                name, args.users, args.requests, args.seconds, hello, warm=warm, when_timed=timed
            ),
        )


async def ours(
    args: argparse.Namespace, data: Path, between: Callable[[], Awaitable[Result | None]]
) -> tuple[list[Result], list[Result | None]]:
    """This bot's kinds of turn, and `between` (the echo bot) run before each and after the
    last, with this bot's outbox quiet: each kind has a baseline measured just before it and
    just after it, which a machine drifting in speed over the whole run does not move."""
    settings = StorageSettings(None, data)
    users = [user(i) for i in range(args.users)]
    ids = NewCaseIds()
    per_user = max(1, (min(100, args.requests) + args.requests) // args.users + 2)
    queues = await seed(data, users, per_user, ids)
    extra = ["--data", str(data), "--gc-log", str(data.parent / "gc.json")]
    if args.profile:
        extra += ["--profile", str(Path(args.profile) / "bot.txt")]
    results = []
    beside: list[Result | None] = []
    async with (
        connector() as stand_in,
        server(our_server("bot", *extra)) as served,
        aiohttp.ClientSession() as http,
    ):
        client = Client(served.url, stand_in, http)
        for who in users:  # each has opened the bot
            await client.say(who, "hello")

        turns = BotTurns(client, stand_in, users, queues)
        warm = min(100, args.requests)
        for kind in args.kinds:
            await drained(stand_in)
            beside.append(await between())
            if kind == "raise":
                results.append(await raises(args, client, settings, users, served, stand_in, ids))
                continue

            def load(timed: Callable[[], None], kind: str = kind) -> Awaitable[Result]:
                return closed_loop(
                    kind,
                    args.users,
                    args.requests,
                    args.seconds,
                    turns.of(kind),
                    warm=warm,
                    when_timed=timed,
                )

            results.append(await on_cpu(served, load, lambda: drained(stand_in)))
            await turns.close_dialogs()  # leave no dialog open for the next kind
        await drained(stand_in)
        beside.append(await between())
    return results, beside


async def raises(
    args: argparse.Namespace,
    client: Client,
    settings: StorageSettings,
    users: list[str],
    served: Served,
    stand_in: Connector,
    ids: NewCaseIds,
) -> Result:
    """`--requests` raises in rounds of every user at once (RaiseRounds.timed). The
    asked-again turns' CPU is measured first, with the outbox quiet, and taken off."""
    storage = await open_storage(settings)
    try:
        rounds = RaiseRounds(client, users, storage, ids)
        await rounds.walk()
        await drained(stand_in)
        asking = await rounds.asking_cpu(served)
        most = max(2 * len(users), args.requests)
        return await rounds.timed(served, stand_in, asking, most=most, seconds=args.seconds)
    finally:
        await storage.close()


def cpu_ratio(a: Result | None, b: Result | None) -> str:
    """How many of `a`'s turns take the server's CPU time of one of `b`'s."""
    mine, theirs = (r.cpu_per_turn if r else None for r in (a, b))
    return "n/a" if not mine or not theirs else f"{theirs / mine:.2f}x"


def least(
    a: Result | None, b: Result | None, key: Callable[[Result], float | None]
) -> Result | None:
    """Of a baseline's two runs, the one with the lower `key` (the first on a tie); a run
    that is missing, or whose `key` is None, is left out."""
    scored = [(k, r) for r in (a, b) if r is not None and (k := key(r)) is not None]
    return min(scored, key=lambda kr: kr[0])[1] if scored else None


def cheaper(a: Result | None, b: Result | None) -> Result | None:
    """Of a baseline's two runs, the one that took less CPU a turn."""
    return least(a, b, lambda r: r.cpu_per_turn) or faster(a, b)


def ratio(a: Result | None, b: Result | None) -> str:
    if a is None or b is None or not b.per_second:
        return "n/a"
    return f"{a.per_second / b.per_second:.2f}x"


def p99_ratio(a: Result | None, b: Result | None) -> str:
    """`a`'s p99 as a multiple of `b`'s: under 1 is a shorter tail than the baseline's."""
    if a is None or b is None or not a.turns or not b.turns or not b.percentile(0.99):
        return "n/a"
    return f"{a.percentile(0.99) / b.percentile(0.99):.2f}x"


def shorter_tail(a: Result | None, b: Result | None) -> Result | None:
    """Of a baseline's two runs, the one with the lower p99: the conservative one to compare a
    tail with."""
    return least(a, b, lambda r: r.percentile(0.99) if r.turns else None)


def faster(a: Result | None, b: Result | None) -> Result | None:
    """The better of a baseline's two runs (before and after the bot's, or a kind's): the ratios
    against it are the conservative ones, whatever else the machine was doing meanwhile."""
    return least(a, b, lambda r: -r.per_second)


def table(
    mine: list[Result],
    measure: Callable[[Result | None, Result | None], str],
    **baselines: Result | None,
) -> None:
    """A line for each of this bot's kinds: `measure` of it against each baseline, in order."""
    for result in mine:
        against = (f"/ {name} {measure(result, base):>7}" for name, base in baselines.items())
        print(f"  {result.name:<7} " + "   ".join(against))


async def baselines(args: argparse.Namespace) -> tuple[Result | None, ...]:
    command = agents_server()
    return (
        await baseline("bare", list(our_server("bare")), args),
        await baseline("echo", list(our_server("echo")), args),
        await baseline("agents", list(command) if command else None, args),
    )


async def main(args: argparse.Namespace) -> None:
    before = await baselines(args)
    with tempfile.TemporaryDirectory() as tmp:
        mine, beside = await ours(
            args, Path(tmp) / "data", lambda: baseline("echo", list(our_server("echo")), args)
        )
        pauses = json.loads((Path(tmp) / "gc.json").read_text())
    after = await baselines(args)
    print(f"{args.users} users at once; turns/s, latency and (for this bot) storage round trips")
    print("baselines, before and after this bot's turns:")
    for result in (*before, *after):
        if result is not None:
            print(result.line())
    pairs = list(zip(before, after, strict=True))  # each baseline's runs: (bare, echo, agents)
    bare, echo, agents = (faster(a, b) for a, b in pairs)
    if agents is None:
        print("agents: not measured (no .venv-agents: see benchmarks/README.md)")
    print("this bot:")
    for result in mine:
        print(result.line())
    print(
        "the bot's garbage collector, its whole run (start-up's full collection too): "
        + ", ".join(
            f"{g} {n:.0f} runs (longest {most:.1f} ms, {total:.0f} ms in all)"
            for g, (n, most, total) in pauses.items()
        )
    )
    print("ratios, against the faster run of each baseline:")
    table(mine, ratio, echo=echo, agents=agents, bare=bare)
    _, echo_tail, agents_tail = (shorter_tail(a, b) for a, b in pairs)
    print("p99, as a multiple of the lower p99 of each baseline's two runs (under 1: shorter):")
    table(mine, p99_ratio, echo=echo_tail, agents=agents_tail)
    print(
        "ratios, against the faster of the echo bot's runs just before and just after each kind"
        " (turns/s):"
    )
    for i, result in enumerate(mine):
        first, then = beside[i], beside[i + 1]
        speeds = ", ".join(f"{r.per_second:.1f}" for r in (first, then) if r is not None)
        print(f"  {result.name:<7} / echo {ratio(result, faster(first, then)):>7}   ({speeds})")
    lean_bare, lean_echo, lean_agents = (cheaper(a, b) for a, b in pairs)
    print("the server's CPU a turn, as turns in the CPU time of one of the cheaper run's:")
    table(mine, cpu_ratio, echo=lean_echo, agents=lean_agents, bare=lean_bare)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop each load after this")
    parser.add_argument(
        "--kinds",
        type=lambda text: [k for k in text.split(",") if k],
        default=list(KINDS),
        help="of " + ",".join(KINDS),
    )
    parser.add_argument("--profile", default=None, help="write the bot's profile to DIR/bot.txt")
    parsed = parser.parse_args()
    if parsed.profile and importlib.util.find_spec("pyinstrument") is None:
        parser.error("--profile needs pyinstrument: .venv/bin/pip install pyinstrument")
    unknown = set(parsed.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    parsed.requests = max(1, min(parsed.requests, 20_000))
    asyncio.run(main(parsed))
