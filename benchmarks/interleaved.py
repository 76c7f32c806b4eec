"""This checkout's bot against another checkout's, in short rounds taken in turn.

    .venv/bin/python -m benchmarks.interleaved --against PATH
        [--kinds help,dialog,card,raise] [--rounds 8] [--turns 300] [--users 20] [--quiet 1.0]

On a machine whose speed drifts (a shared one: the same code ran 30 percent apart in runs a few
minutes apart), two whole runs of benchmarks.turns cannot tell a change of a few percent from
the drift. Here both bots run at once, each in its own process on its own embedded store, and
each kind of turn is sent to them in rounds, alternately (A B, then B A, ...), one loaded at a
time: the two halves of a round meet the same machine. Each round is timed as benchmarks.turns
times a kind (`--users` users at once, warm-up turns first, the server's CPU from /proc), and
every figure is a ratio of this checkout's round to the other's in the same round: the median
of the rounds, and their range. A round of raises is sent as benchmarks.turns sends them
(bot_turns.RaiseRounds): every user's "yes" at once, as many times as make `--turns`. PATH is
another checkout of this repository, such as a `git worktree` of the commit before a change,
with the same .venv (a link will do).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.bot_turns import BotTurns, RaiseRounds, drained, on_cpu, seed
from benchmarks.harness import (
    REPO,
    Client,
    NewCaseIds,
    Result,
    Served,
    closed_loop,
    our_server,
    server,
    user,
)
from bootstrap.build import open_storage
from storage.settings import StorageSettings
from testkit.connector import connector

KINDS = ("help", "dialog", "card", "raise")
WARM = 50


@dataclass
class Side:
    """One bot under test: its server and the turns its users send it."""

    name: str
    served: Served
    turns: BotTurns
    raises: RaiseRounds
    walked: bool = False  # the raise dialogs walked to their last question
    asking: float | None = None  # the server's CPU for one asked-again turn (RaiseRounds)


@asynccontextmanager
async def side(
    name: str, repo: Path, data: Path, args: argparse.Namespace, http: aiohttp.ClientSession
) -> AsyncIterator[Side]:
    users = [user(i) for i in range(args.users)]
    ids = NewCaseIds()  # the seeded cases' and the raised ones', never the same twice
    # A user may send more than an even share of a round's turns: half as many again.
    per_user = 3 * args.rounds * (args.turns + min(WARM, args.turns)) // (2 * args.users) + 10
    queues = await seed(data, users, per_user, ids)
    async with (
        connector() as stand_in,
        server(our_server("bot", "--data", str(data)), repo=repo) as served,
    ):
        client = Client(served.url, stand_in, http)
        for who in users:  # each has opened the bot
            await client.say(who, "hello")
        storage = await open_storage(StorageSettings(None, data))  # to put raises back
        try:
            raises = RaiseRounds(client, users, storage, ids)
            yield Side(name, served, BotTurns(client, stand_in, users, queues), raises)
        finally:
            await storage.close()


async def round_of(one: Side, kind: str, args: argparse.Namespace) -> Result:
    await drained(one.turns.connector, quiet=args.quiet)
    if kind == "raise":
        return await raise_round(one, args)

    def load(timed: Callable[[], None]) -> Awaitable[Result]:
        return closed_loop(
            kind,
            args.users,
            args.turns,
            args.seconds,
            one.turns.of(kind),
            warm=min(WARM, args.turns),
            when_timed=timed,
        )

    result = await on_cpu(one.served, load, lambda: drained(one.turns.connector, quiet=args.quiet))
    await one.turns.close_dialogs()
    return result


async def raise_round(one: Side, args: argparse.Namespace) -> Result:
    """`--turns` raises (RaiseRounds.timed); the first time, the dialogs are walked and the
    asked-again turns' CPU measured, while the side's outbox is quiet."""
    rounds, quiet = one.raises, args.quiet
    if not one.walked:
        await rounds.walk()
        await drained(one.turns.connector, quiet=quiet)
        one.asking = await rounds.asking_cpu(one.served)
        one.walked = True
    return await rounds.timed(
        one.served,
        one.turns.connector,
        one.asking,
        most=args.turns,
        seconds=args.seconds,
        quiet=quiet,
    )


def spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.3f}  (rounds {min(ratios):.3f} to {max(ratios):.3f})"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(aiohttp.ClientSession())
            this = await stack.enter_async_context(
                side("this", REPO, Path(tmp) / "this", args, http)
            )
            other = await stack.enter_async_context(
                side("other", args.against, Path(tmp) / "other", args, http)
            )
            print(
                f"this checkout ({REPO}) against {args.against}, {args.users} users at once",
                flush=True,
            )
            for kind in args.kinds:
                pairs: list[tuple[Result, Result]] = []
                for n in range(args.rounds):
                    first, second = (this, other) if n % 2 == 0 else (other, this)
                    a = await round_of(first, kind, args)
                    b = await round_of(second, kind, args)
                    pairs.append((a, b) if first is this else (b, a))
                report(kind, pairs)


def report(kind: str, pairs: list[tuple[Result, Result]]) -> None:
    def median(results: list[Result], figure: Callable[[Result], float | None]) -> float:
        return statistics.median(v for r in results if (v := figure(r)) is not None)

    mine = [a for a, _ in pairs]
    theirs = [b for _, b in pairs]
    print(f"{kind}: {len(pairs)} rounds of {len(mine[0].turns)} timed turns each", flush=True)
    for label, results in (("this ", mine), ("other", theirs)):
        print(
            f"  {label}  turns/s median {median(results, lambda r: r.per_second):7.1f}"
            f"   p99 median {median(results, lambda r: r.percentile(0.99)):6.1f} ms"
            f"   cpu median {median(results, lambda r: r.cpu_per_turn):5.2f} ms/turn"
        )
    print(
        "  this / other, turns a second:    "
        + spread([a.per_second / b.per_second for a, b in pairs])
    )
    cpu = [b.cpu_per_turn / a.cpu_per_turn for a, b in pairs if a.cpu_per_turn and b.cpu_per_turn]
    if cpu:
        print("  other's CPU a turn / this one's:  " + spread(cpu))
    print(
        "  other's p99 / this one's:         "
        + spread([b.percentile(0.99) / a.percentile(0.99) for a, b in pairs])
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", type=Path, required=True, help="another checkout")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--turns", type=int, default=300, help="timed turns a round")
    parser.add_argument("--seconds", type=float, default=30.0, help="stop a round after this")
    parser.add_argument(
        "--quiet",
        type=float,
        default=1.0,
        help="a round ends when its bot has sent nothing for this long (what its turns left)",
    )
    parser.add_argument(
        "--kinds",
        type=lambda text: [k for k in text.split(",") if k],
        default=list(KINDS),
        help="of " + ",".join(KINDS),
    )
    parsed = parser.parse_args()
    unknown = set(parsed.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    if not (parsed.against / "benchmarks" / "servers.py").exists():
        parser.error(f"{parsed.against} is not a checkout of this repository")
    parsed.rounds = max(2, min(parsed.rounds, 40))
    parsed.turns = max(10, min(parsed.turns, 5_000))
    asyncio.run(main(parsed))
