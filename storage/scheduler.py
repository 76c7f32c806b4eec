"""The scheduler's sweep: tell the right people, at the right time, once.

A sweep reads the due index up to the furthest early warning any pack gives (not every open case),
loads each case it names, asks the core which nudges are due now (`escalation.nudges`), and puts
each one in the case's outbox under its own key (case, stage, clock, kind, day, recipient). A
nudge already queued is not queued again, so two instances sweeping, a sweep repeated after a
crash, or one run by hand all queue each nudge once. A lease in storage lets one instance sweep at
a time; a dead holder's lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from escalation.case import ClockStatus, fold
from escalation.directory import DirectorySource
from escalation.notifications import Notification, Recipient
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry
from escalation.rules import calendar_for
from storage.cases import (
    TableCaseRepository,
    TableNames,
    notification_entity,
    outbox_row,
)
from storage.conversations import ConversationStore
from storage.tables import PARTITION_KEY, ROW_KEY, ConcurrencyConflict, EntityExists, TableStore

log = logging.getLogger("escalation.scheduler")

LEASE_PARTITION: Final = "lease"
LEASE_ROW: Final = "scheduler"


@dataclass
class SweepReport:
    swept: bool = True
    cases: int = 0
    hints_read: int = 0
    stale_hints: int = 0
    queued: list[str] = field(default_factory=list)
    already_queued: int = 0


class Lease:
    """One holder at a time, for a while: taken with an ETag, so two instances cannot both win."""

    def __init__(self, store: TableStore, table: str, *, holder: str, length: timedelta) -> None:
        self._store = store
        self._table = table
        self.holder = holder
        self._length = length

    async def take(self, now: datetime) -> bool:
        found = await self._store.get(self._table, LEASE_PARTITION, LEASE_ROW)
        entity = {
            PARTITION_KEY: LEASE_PARTITION,
            ROW_KEY: LEASE_ROW,
            "holder": self.holder,
            "expires_at": now + self._length,
        }
        try:
            if found is None:
                await self._store.insert(self._table, entity)
                return True
            expires = found.entity["expires_at"]
            if found.entity["holder"] != self.holder and expires > now:
                return False  # another instance holds it and is alive
            await self._store.update(self._table, entity, found.etag)
            return True
        except (EntityExists, ConcurrencyConflict):
            return False  # another instance took it at the same moment

    async def release(self) -> None:
        found = await self._store.get(self._table, LEASE_PARTITION, LEASE_ROW)
        if found is not None and found.entity["holder"] == self.holder:
            # Taken over after it ran out? Then it is theirs now: leave it.
            with contextlib.suppress(ConcurrencyConflict):
                await self._store.delete(self._table, LEASE_PARTITION, LEASE_ROW, found.etag)


class Scheduler:
    def __init__(
        self,
        *,
        store: TableStore,
        tables: TableNames,
        cases: TableCaseRepository,
        packs: PackRegistry,
        directory: DirectorySource,
        holder: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        conversations: ConversationStore | None = None,
    ) -> None:
        self._conversations = conversations
        self._store = store
        self._tables = tables
        self._cases = cases
        self._packs = packs
        self._directory = directory
        self._lease = Lease(
            store, tables.leases, holder=holder or f"instance-{uuid.uuid4().hex[:12]}", length=lease
        )
        self._calendars = {p.board.id: calendar_for(p) for p in packs}

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables([self._tables.leases])

    def horizon(self, now: datetime) -> datetime:
        """The latest deadline an early warning sent today could be about, across all packs."""
        latest = now
        for pack in self._packs:
            calendar = self._calendars[pack.board.id]
            today = calendar.local_date(now)
            days = pack.nudges.early_warning_working_days
            last_day = calendar.nth_working_day_after(today, days) if days else today
            latest = max(latest, calendar.end_of(last_day))
        return latest

    async def sweep(self, now: datetime) -> SweepReport:
        if now.tzinfo is None:
            raise ValueError("the sweep needs a timezone-aware time")
        if not await self._lease.take(now):
            return SweepReport(swept=False)
        try:
            return await self._sweep(now)
        finally:
            await self._lease.release()

    async def _monthly_summaries(self, now: datetime, report: SweepReport) -> None:
        """On the first working day of a month, at the pack's hour, last month's figures go to
        each board's business-manager channel (once: keyed by board and month)."""
        if self._conversations is None:
            return
        for pack in self._packs:
            calendar = self._calendars[pack.board.id]
            today = calendar.local_date(now)
            first = today.replace(day=1)
            first_working = (
                first if calendar.is_working_day(first) else calendar.next_working_day(first)
            )
            if today != first_working or now < calendar.at(today, pack.nudges.send_at):
                continue
            if await self._conversations.channel(pack.board.id) is None:
                continue  # no channel set: nobody to send it to
            month = (first - timedelta(days=1)).strftime("%Y-%m")
            notification = Notification(
                case_id=f"board-{pack.board.id}",
                event_seq=0,
                kind="monthly_summary",
                recipient=Recipient.business_manager_channel(pack.board.id),
                reason=f"The board's figures for {month}.",
                stage="",
                details={"month": month},
                key_override=f"board-{pack.board.id}:monthly_summary:{month}",
            )
            if await self._queue(notification, now):
                report.queued.append(notification.key)
            else:
                report.already_queued += 1

    async def _sweep(self, now: datetime) -> SweepReport:
        report = SweepReport()
        await self._monthly_summaries(now, report)
        hints = await self._cases.due_hints(self.horizon(now))
        report.hints_read = len(hints)
        by_case: dict[str, list[dict[str, object]]] = {}
        for hint in hints:
            by_case.setdefault(str(hint["case_id"]), []).append(hint)
        directory = await self._directory.snapshot()
        for case_id, case_hints in by_case.items():
            stored = await self._cases.load(case_id)
            if stored is None:
                for hint in case_hints:  # a hint for a change that was never saved
                    await self._cases.forget_due_hint(hint)
                    report.stale_hints += 1
                continue
            case = fold(stored.events)
            report.cases += 1
            running = {
                (c.stage, c.clock, c.effective_due.astimezone(UTC))
                for c in case.clocks
                if c.status == ClockStatus.RUNNING
            }
            for hint in case_hints:
                _, stage, clock = str(hint[ROW_KEY]).split("|")
                due = hint["due"]
                assert isinstance(due, datetime)
                if (stage, clock, due.astimezone(UTC)) not in running:
                    await self._cases.forget_due_hint(hint)  # the clock stopped or moved
                    report.stale_hints += 1
            pack = self._packs.get(case.board_id)
            for nudge in due_nudges(case, pack, directory, self._calendars[pack.board.id], now=now):
                notification = nudge.to_notification(case)
                if await self._queue(notification, now):
                    report.queued.append(notification.key)
                else:
                    report.already_queued += 1
        return report

    async def _queue(self, notification: Notification, now: datetime) -> bool:
        row = outbox_row(notification.key)
        # The hint first, as for any message: a crash between the two leaves a harmless hint.
        await self._store.upsert(
            self._tables.outbox_pending,
            {
                PARTITION_KEY: "pending",
                ROW_KEY: f"{notification.case_id}|{row}",
                "case_id": notification.case_id,
                "row": row,
                "written_at": now,
            },
        )
        try:
            await self._store.insert(
                self._tables.cases, notification_entity(notification, created_at=now)
            )
        except EntityExists:
            return False  # queued by an earlier sweep (or another instance): once is enough
        return True
