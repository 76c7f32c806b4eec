"""The scheduler's sweep, in the core: which nudges are due now, queued once each.

A sweep reads the clocks that fall due up to the furthest early warning any pack gives (not every
open case), loads each case they name through the case repository, asks `escalation.nudges` what
is due at this moment, and queues each nudge under its own key (case, stage, clock, kind, day,
person). Queuing an already-queued key changes nothing, so two instances, a repeated sweep or one
run by hand queue each nudge once. A lease lets one instance sweep at a time. On the first
working day of a month it also queues last month's summary for each board's channel.
Storage provides the ports (named in `escalation.ports`, kept by `storage.scheduler`); the app and
`escalation sweep` both run this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from escalation.calendar import calendar_for
from escalation.case import ClockStatus
from escalation.notifications import Notification, Recipient
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry
from escalation.ports import (
    CaseRepository,
    Channels,
    DirectorySource,
    DueHint,
    DueIndex,
    NudgeQueue,
    SweepLease,
)

MONTHLY_SUMMARY = "monthly_summary"


@dataclass
class SweepReport:
    swept: bool = True
    cases: int = 0
    stale_hints: int = 0
    queued: list[str] = field(default_factory=list)
    already_queued: int = 0
    # Cases of a board this instance has no pack for: left for an instance that has it, and
    # never a reason to stop nudging every other board's cases.
    no_pack: list[str] = field(default_factory=list)


class SweepService:
    def __init__(
        self,
        *,
        packs: PackRegistry,
        repository: CaseRepository,
        directory: DirectorySource,
        due_index: DueIndex,
        queue: NudgeQueue,
        lease: SweepLease,
        channels: Channels | None = None,
    ) -> None:
        self._packs = packs
        self._repository = repository
        self._directory = directory
        self._due_index = due_index
        self._queue = queue
        self._lease = lease
        self._channels = channels

    def horizon(self, now: datetime) -> datetime:
        """The latest deadline an early warning sent today could be about, across all packs."""
        latest = now
        for pack in self._packs:
            calendar = calendar_for(pack)
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
            report = SweepReport()
            await self._monthly_summaries(now, report)
            await self._nudges(now, report)
            return report
        finally:
            await self._lease.release()

    async def _put(self, notification: Notification, now: datetime, report: SweepReport) -> None:
        if await self._queue.queue(notification, now):
            report.queued.append(notification.key)
        else:
            report.already_queued += 1

    async def _nudges(self, now: datetime, report: SweepReport) -> None:
        hints = await self._due_index.due_hints(self.horizon(now))
        by_case: dict[str, list[DueHint]] = {}
        for hint in hints:
            by_case.setdefault(hint.case_id, []).append(hint)
        directory = await self._directory.snapshot()
        for case_id, case_hints in by_case.items():
            stored = await self._repository.load(case_id)
            if stored is None:
                for hint in case_hints:  # a hint for a change that was never saved
                    await self._due_index.forget(hint)
                    report.stale_hints += 1
                continue
            case = stored.case
            if case.board_id not in self._packs:
                report.no_pack.append(case.id)
                continue
            report.cases += 1
            running = {
                (c.stage, c.clock, c.effective_due.astimezone(UTC))
                for c in case.clocks
                if c.status == ClockStatus.RUNNING
            }
            for hint in case_hints:
                if (hint.stage, hint.clock, hint.due.astimezone(UTC)) not in running:
                    await self._due_index.forget(hint)  # the clock stopped or moved
                    report.stale_hints += 1
            pack = self._packs.get(case.board_id)
            for nudge in due_nudges(case, pack, directory, calendar_for(pack), now=now):
                await self._put(nudge.to_notification(case), now, report)

    async def _monthly_summaries(self, now: datetime, report: SweepReport) -> None:
        """On the first working day of a month, at the pack's hour, last month's figures go to
        each board's business-manager channel (once: keyed by board and month)."""
        if self._channels is None:
            return
        for pack in self._packs:
            calendar = calendar_for(pack)
            today = calendar.local_date(now)
            first = today.replace(day=1)
            first_working = (
                first if calendar.is_working_day(first) else calendar.next_working_day(first)
            )
            if today != first_working or now < calendar.at(today, pack.nudges.send_at):
                continue
            if not await self._channels.has_channel(pack.board.id):
                continue  # no channel set: nobody to send it to
            month = (first - timedelta(days=1)).strftime("%Y-%m")
            notification = Notification(
                case_id=f"board-{pack.board.id}",
                event_seq=0,
                kind=MONTHLY_SUMMARY,
                recipient=Recipient.business_manager_channel(pack.board.id),
                reason=f"The board's figures for {month}.",
                stage="",
                details={"month": month},
                key_override=f"board-{pack.board.id}:{MONTHLY_SUMMARY}:{month}",
            )
            await self._put(notification, now, report)
