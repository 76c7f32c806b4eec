"""The scheduler over simulated weeks, on both engines: every nudge once, on working days only."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from escalation.commands import Escalate
from escalation.delivery import Delivery, DeliveryResult
from escalation.directory import StaticDirectory
from escalation.notifications import Notification
from escalation.packs import PackRegistry
from storage.cases import TableCaseRepository
from storage.outbox import TableOutbox, dispatch_once
from storage.scheduler import Lease, Scheduler
from testkit.builders import discussion, redbridge_raise
from testkit.people import make_directory
from tests.integration.harness import Harness

POLICIES = Path(__file__).resolve().parents[2] / "policies"
LONDON = ZoneInfo("Europe/London")


def scheduler(h: Harness, holder: str = "one") -> Scheduler:
    assert isinstance(h.repository, TableCaseRepository) and h.store is not None
    return Scheduler(
        store=h.store,
        tables=h.repository._t,
        cases=h.repository,
        packs=PackRegistry.from_directory(POLICIES),
        directory=StaticDirectory(make_directory()),
        holder=holder,
    )


class Inbox:
    def __init__(self) -> None:
        self.got: list[Notification] = []
        self.queued_at: dict[str, datetime] = {}

    def local_times(self) -> set[str]:
        """The local wall-clock times at which nudges were first queued."""
        return {f"{moment.astimezone(LONDON):%H:%M}" for moment in self.queued_at.values()}

    async def __call__(self, notification: Notification) -> Delivery:
        self.got.append(notification)
        return Delivery(DeliveryResult.SENT)


async def run_weeks(
    h: Harness, start: datetime, days: int, step: timedelta = timedelta(hours=1)
) -> Inbox:
    one = scheduler(h)
    await one.ensure_tables()
    assert isinstance(h.repository, TableCaseRepository) and h.store is not None
    outbox = TableOutbox(h.store, h.repository._t)
    inbox = Inbox()
    now = start
    while now < start + timedelta(days=days):
        report = await one.sweep(now)
        for key in report.queued:
            inbox.queued_at.setdefault(key, now)
        await dispatch_once(outbox, inbox, now)
        now += step
    return inbox


@pytest.mark.clause("RB-4.4")
async def test_weeks_across_christmas_send_each_nudge_once_on_working_days(tables: Harness) -> None:
    tables.clock.set("2026-12-22T10:00:00+00:00")  # Tuesday before Christmas
    service = tables.service()
    opened = await service.execute(redbridge_raise(disagreement_date=datetime(2026, 12, 21).date()))
    inbox = await run_weeks(
        tables, datetime(2026, 12, 22, 10, tzinfo=UTC), days=21, step=timedelta(hours=2)
    )
    nudges = [n for n in inbox.got if n.details.get("nudge")]
    assert nudges, "no nudges were sent"
    keys = Counter(n.key for n in nudges)
    assert max(keys.values()) == 1  # every nudge exactly once
    for n in nudges:
        day = datetime.fromisoformat(n.details["day"]).date()
        assert day.weekday() < 5 and day not in {
            datetime(2026, 12, 25).date(),
            datetime(2026, 12, 28).date(),
            datetime(2027, 1, 1).date(),
        }
    respond = {
        (n.kind, n.recipient.id, n.details["day"])
        for n in nudges
        if n.details["clock"] == "respond"
    }
    # 'respond' falls due 3 WD after Tue 22 Dec: Wed 23 (1), Thu 24 (2), Tue 29 Dec (3), 17:00.
    assert respond == {
        ("early_warning", "noah", "2026-12-24"),
        ("due_today", "noah", "2026-12-29"),
        ("overdue", "noah", "2026-12-30"),
        ("overdue_manager", "nadia", "2026-12-31"),
        ("overdue_reminder", "noah", "2027-01-04"),  # not on New Year's Day
        ("overdue_reminder", "noah", "2027-01-05"),
        ("overdue_reminder", "noah", "2027-01-06"),
        ("overdue_reminder", "noah", "2027-01-07"),
        ("overdue_reminder", "noah", "2027-01-08"),
        ("overdue_reminder", "noah", "2027-01-11"),
    }
    assert opened.case.id in {n.case_id for n in nudges}
    # Queued at the first sweep at or after 09:00 local (sweeps run every two hours from 10:00).
    assert inbox.local_times() == {"10:00"}


async def test_nudges_stop_when_the_case_moves_on(tables: Harness) -> None:
    service = tables.service()
    case_id = (await service.execute(redbridge_raise())).case.id  # Tue 1 Dec 2026 10:00
    sweeper = scheduler(tables)
    await sweeper.ensure_tables()
    tables.clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, tables.clock.now, "not_resolved"))
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    report = await sweeper.sweep(datetime(2026, 12, 9, 9, 30, tzinfo=UTC))
    stages = {key.split(":nudge:")[1].split(":")[0] for key in report.queued}
    assert stages == {"2"}  # stage 1's clocks stopped: their hints were dropped as stale
    assert report.stale_hints >= 1


async def test_two_instances_sweeping_at_once_queue_each_nudge_once(tables: Harness) -> None:
    await tables.service().execute(redbridge_raise())
    one, two = scheduler(tables, "one"), scheduler(tables, "two")
    await one.ensure_tables()
    moment = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    first, second = await asyncio.gather(one.sweep(moment), two.sweep(moment))
    again = await one.sweep(moment)  # and a sweep repeated after a crash
    queued = first.queued + second.queued + again.queued
    assert queued and len(queued) == len(set(queued))
    assert not (first.swept and second.swept and first.queued and second.queued)


async def test_a_dead_holders_lease_runs_out(tables: Harness) -> None:
    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    table = tables.repository._t.leases
    await tables.store.ensure_tables([table])
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    dead = Lease(tables.store, table, holder="dead", length=timedelta(minutes=5))
    alive = Lease(tables.store, table, holder="alive", length=timedelta(minutes=5))
    assert await dead.take(now)  # ...and the process dies holding it
    assert not await alive.take(now + timedelta(minutes=4))
    assert await alive.take(now + timedelta(minutes=6))
    assert not await dead.take(now + timedelta(minutes=7))  # back from the dead: not its any more


@pytest.mark.clause("HW-0")
async def test_harrow_weeks_across_easter_and_the_clock_change(tables: Harness) -> None:
    from testkit.builders import harrow_raise

    tables.clock.set("2027-03-23T10:00:00+00:00")  # Tuesday before Easter, still GMT
    await tables.service().execute(harrow_raise(disagreement_date=datetime(2027, 3, 22).date()))
    inbox = await run_weeks(
        tables, datetime(2027, 3, 23, 10, tzinfo=UTC), days=16, step=timedelta(hours=2)
    )
    nudges = [n for n in inbox.got if n.details.get("nudge")]
    assert max(Counter(n.key for n in nudges).values()) == 1
    review = {
        (n.kind, n.recipient.id, n.details["day"]) for n in nudges if n.details["clock"] == "review"
    }
    # The local review interval (5 WD, not policy) falls due Thu 1 Apr 2027: Good Friday and
    # Easter Monday do not count; the clocks went forward on Sunday 28 March.
    assert ("early_warning", "hana", "2027-03-31") in review and (
        "early_warning",
        "colin",
        "2027-03-31",
    ) in review
    assert ("due_today", "colin", "2027-04-01") in review
    assert ("overdue", "colin", "2027-04-02") in review
    assert ("overdue_manager", "cara", "2027-04-05") in review and (
        "overdue_manager",
        "harry",
        "2027-04-05",
    ) in review
    assert not [
        n for n in nudges if n.details["day"] in ("2027-03-26", "2027-03-29")
    ]  # bank holidays
    # Every nudge falls after the clocks went forward: 09:00 BST is 08:00 UTC, when a two-hourly
    # sweep runs, so each was queued at exactly 09:00 local.
    assert inbox.local_times() == {"09:00"}
    [warning] = [n for n in nudges if n.kind == "early_warning" and n.recipient.id == "colin"]
    assert warning.key.endswith("person:colin") and "2027-03-31" in warning.details["day"]


async def test_two_months_across_the_october_clock_change(tables: Harness) -> None:
    """A case left alone at Harrow's HSAB-lead stage: reminders every working day for weeks."""
    from testkit.builders import harrow_raise

    tables.clock.set("2026-10-06T10:00:00+00:00")
    service = tables.service()
    await service.execute(
        harrow_raise(immediate_risk=False, disagreement_date=datetime(2026, 10, 5).date())
    )
    inbox = await run_weeks(
        tables, datetime(2026, 10, 6, 10, tzinfo=UTC), days=60, step=timedelta(hours=4)
    )
    nudges = [n for n in inbox.got if n.details.get("nudge")]
    assert max(Counter(n.key for n in nudges).values()) == 1
    days = sorted({n.details["day"] for n in nudges})
    assert all(datetime.fromisoformat(d).weekday() < 5 for d in days)
    reminders = [d for d in days if d > "2026-10-26"]  # after the clocks went back on 25 October
    assert len(reminders) >= 20  # every working day, for weeks
    assert inbox.local_times() <= {"10:00", "09:00", "11:00"}


async def test_the_monthly_summary_goes_to_the_channel_on_the_first_working_day_once(
    tables: Harness,
) -> None:
    from bot.sender import TeamsSender
    from storage.conversations import ConversationStore

    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    await tables.service().execute(redbridge_raise())  # a November case... raised 1 Dec 2026
    conversations = ConversationStore(tables.store, table=tables.repository._t.conversations)
    await conversations.ensure_tables()
    reference = {"conversation": {"id": "19:channel"}, "serviceUrl": "http://127.0.0.1:1/"}
    await conversations.set_channel(
        "redbridge", reference, set_by="bm", team_id="team", channel_id="channel"
    )
    sweeper = Scheduler(
        store=tables.store,
        tables=tables.repository._t,
        cases=tables.repository,
        packs=PackRegistry.from_directory(POLICIES),
        directory=StaticDirectory(make_directory()),
        conversations=conversations,
    )
    await sweeper.ensure_tables()
    # Tuesday 1 December 2026 is the first working day: before 09:00 nothing, then once.
    early = await sweeper.sweep(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert not [k for k in early.queued if "monthly" in k]
    first = await sweeper.sweep(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    assert [k for k in first.queued if "monthly" in k] == [
        "board-redbridge:monthly_summary:2026-11"
    ]
    again = await sweeper.sweep(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))
    assert not [k for k in again.queued if "monthly" in k]
    later = await sweeper.sweep(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    assert not [k for k in later.queued if "monthly" in k]
    # January 2027: the 1st is a bank holiday, so the summary waits for Monday the 4th.
    assert not [
        k
        for k in (await sweeper.sweep(datetime(2027, 1, 1, 9, 30, tzinfo=UTC))).queued
        if "monthly" in k
    ]
    jan = await sweeper.sweep(datetime(2027, 1, 4, 9, 30, tzinfo=UTC))
    assert [k for k in jan.queued if "monthly" in k] == ["board-redbridge:monthly_summary:2026-12"]

    # What the channel gets: last month's figures, counts only.
    outbox = TableOutbox(tables.store, tables.repository._t)
    item = await outbox.message("board-redbridge", "board-redbridge:monthly_summary:2026-12")
    assert item is not None
    storage_like = type("S", (), {"cases": tables.repository, "directory": None})()
    sender = TeamsSender(
        adapter=None,
        app_id="",
        storage=storage_like,
        packs=PackRegistry.from_directory(POLICIES),
        now=lambda: datetime(2027, 1, 4, 9, 30, tzinfo=UTC),
    )
    card = await sender._card(item.notification)
    assert card is not None
    assert "Monthly summary, December 2026" in json.dumps(card)
    assert '"Cases raised"' in json.dumps(card)
