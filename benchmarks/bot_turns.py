"""The bot's turns as the benchmarks send them, and the waits around a timed load.

benchmarks.turns and benchmarks.interleaved send the same help, dialog and card turns, and the
same rounds of raises; each keeps one `BotTurns` and one `RaiseRounds` for each bot it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import (
    Client,
    NewCaseIds,
    Result,
    Served,
    Turn,
    activity,
    card_action,
    collector_held,
    raise_answers_of,
    record_data,
    restore_states,
    saved_states,
    seed_cases,
    seed_directory,
)
from bootstrap.build import open_storage
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import Entity
from testkit.connector import Connector

TurnOf = Callable[[int, int], Awaitable[Turn]]
NOT_SURE = "not sure yet"  # to "Raise this disagreement now?": neither yes nor no
ASKED_AGAIN_SAMPLE = 10  # rounds of asked-again turns timed for their CPU: 200 at 20 users


async def seed(
    data: Path, users: Sequence[str], per_user: int, ids: NewCaseIds
) -> dict[str, list[tuple[str, int]]]:
    """The bot's store at `data`, before its server starts: the users' directory, and
    `per_user` open cases raised by each; the cases (id, version) each user's card turns act
    on."""
    storage = await open_storage(StorageSettings(None, data))
    try:
        await seed_directory(storage, len(users))
        raisers = [i for i in range(len(users)) for _ in range(per_user)]
        cases = await seed_cases(storage, raisers, ids)
    finally:
        await storage.close()
    return {who: cases[i * per_user : (i + 1) * per_user] for i, who in enumerate(users)}


@dataclass
class BotTurns:
    """The turns of `users` on one bot: `client` sends them, `connector` gets the replies, and
    each card turn records a discussion on the next of the user's cases in `queues`."""

    client: Client
    connector: Connector
    users: list[str]
    queues: dict[str, list[tuple[str, int]]]
    dialog_steps: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str) -> TurnOf:
        """The turn function `closed_loop` calls for user `i`'s `n`th turn."""
        return {"help": self.help_turn, "dialog": self.dialog_turn, "card": self.card_turn}[kind]

    async def help_turn(self, i: int, n: int) -> Turn:
        return await self.client.say(self.users[i], "help")

    async def dialog_turn(self, i: int, n: int) -> Turn:
        """A step of the raise dialog: "raise" and "cancel" in turn."""
        who = self.users[i]
        self.dialog_steps[who] = self.dialog_steps.get(who, 0) + 1
        return await self.client.say(who, ("cancel", "raise")[self.dialog_steps[who] % 2])

    async def card_turn(self, i: int, n: int) -> Turn:
        who = self.users[i]
        case_id, version = self.queues[who].pop()
        body = card_action(self.connector.url, who, n, "record", record_data(case_id, version))
        return await self.client.post(body, forbid="Nothing changed")

    async def close_dialogs(self) -> None:
        """Cancel the dialogs the dialog turns left open, so the next kind starts with none."""
        for who, steps in self.dialog_steps.items():
            if steps % 2:
                await self.client.say(who, "cancel")
                self.dialog_steps[who] = steps + 1


async def drained(stand_in: Connector, quiet: float = 1.0, most: float = 60.0) -> None:
    """Wait until the bot has sent nothing to the Bot Connector for `quiet` seconds (at most
    `most`): the messages a kind of turn leaves in the outbox are sent before the next kind is
    timed, not during it."""
    deadline = time.monotonic() + most
    seen = -1
    while seen != len(stand_in.sent) and time.monotonic() < deadline:
        seen = len(stand_in.sent)
        await asyncio.sleep(quiet)


async def on_cpu(
    served: Served,
    turns: Callable[[Callable[[], None]], Awaitable[Result]],
    after: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    """The result of `turns(timed)`, with the server's CPU time from when it calls `timed` (as
    its first timed turn is sent) until they and `after` (waiting for what they left in the
    outbox to be sent) are done."""
    before: list[float | None] = []
    result = await turns(lambda: before.append(served.cpu_seconds()))
    if after is not None:
        await after()
    spent = served.cpu_seconds()
    if before and before[0] is not None and spent is not None:
        result.cpu = spent - before[0]
    return result


@dataclass
class RaiseRounds:
    """The raise's last answer, sent by every user at once, round after round: before each,
    each user's raise dialog is put back at "Raise this disagreement now?" (`put_back`, from
    this process, on the bot's own store) and the bot asks it again (`ask_again`, untimed)."""

    client: Client
    users: list[str]
    storage: Storage  # the bot's store, opened by this process as well
    ids: NewCaseIds
    states: dict[str, Entity] = field(default_factory=dict)

    async def walk(self) -> None:
        """Walk each user's dialog to the question once, and keep the state it left."""
        for i, who in enumerate(self.users):
            for text in raise_answers_of(i):
                await self.client.say(who, text)
        self.states = await saved_states(self.storage, self.users)

    async def put_back(self) -> None:
        await restore_states(self.storage, self.states, self.ids)

    async def ask_again(self) -> None:
        """Each user answers the summary's question with neither yes nor no, and is asked it
        again (untimed). In Teams the "yes" follows the turn that asked the question, so the
        bot holds the dialog state it wrote then and does not decode it again; without this
        turn every timed "yes" would decode the state `put_back` wrote from outside, as no
        real one does."""
        await asyncio.gather(
            *(
                self.client.post(
                    activity(self.client.service_url, who, next(self.client.ids), text=NOT_SURE),
                    expect="Please answer yes or no.",
                )
                for who in self.users
            )
        )

    async def answer(self) -> tuple[list[Turn], float]:
        """Every user's "yes" at once: the turns, and the seconds until the last was answered."""
        with collector_held():
            started = time.perf_counter()
            said = await asyncio.gather(
                *(
                    self.client.post(
                        activity(self.client.service_url, who, next(self.client.ids), text="yes"),
                        expect=" is open.",
                        forbid="already saved",  # a raise that opened no new case
                    )
                    for who in self.users
                )
            )
            return list(said), time.perf_counter() - started

    async def asking_cpu(self, served: Served) -> float | None:
        """The server's CPU for one asked-again turn, each after a put-back as in the rounds
        (which this process does, the server idle), over ASKED_AGAIN_SAMPLE rounds while
        nothing else runs: /proc counts in ticks of 10 ms, so one round alone would be too
        few."""
        before = served.cpu_seconds()
        for _ in range(ASKED_AGAIN_SAMPLE):
            await self.put_back()
            await self.ask_again()
        after = served.cpu_seconds()
        if before is None or after is None:
            return None
        return (after - before) / (ASKED_AGAIN_SAMPLE * len(self.users))

    async def timed(
        self,
        served: Served,
        stand_in: Connector,
        asking: float | None,
        *,
        most: int,
        seconds: float,
        quiet: float = 1.0,
    ) -> Result:
        """Rounds of raises until `most` are answered or `seconds` pass, after one round
        untimed. The CPU runs from the first timed round until the last round's cards are sent
        (a round's cards go out while the next is put back, and are counted as the raises' own
        cost), less `asking` (`asking_cpu`) for each asked-again turn. /proc counts in ticks of
        10 ms: a run too small to tell is given no CPU figure."""
        await self.put_back()
        await self.ask_again()
        await self.answer()  # warms up
        await drained(stand_in, quiet=quiet)  # the warm-up round's cards are not counted
        turns: list[Turn] = []
        timed = 0.0
        asked = 0
        deadline = time.monotonic() + seconds
        cpu_from = served.cpu_seconds()
        while len(turns) < most and time.monotonic() < deadline:
            await self.put_back()
            await self.ask_again()
            asked += len(self.users)
            said, took = await self.answer()
            turns += said
            timed += took
        await drained(stand_in, quiet=quiet)
        cpu_to = served.cpu_seconds()
        result = Result("raise", turns, timed)
        if cpu_from is not None and cpu_to is not None and asking is not None:
            spent = cpu_to - cpu_from - asked * asking
            result.cpu = spent if spent > 0 else None
        return result
