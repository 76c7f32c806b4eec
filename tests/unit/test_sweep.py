"""The core's sweep with fakes of its ports: what is due is queued once; stale hints go."""

from __future__ import annotations

from datetime import UTC, datetime

from escalation.commands import Escalate
from escalation.directory import Directory, StaticDirectory
from escalation.notifications import Notification
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack
from escalation.ports import DueHint
from escalation.service import EscalationService
from escalation.sweep import SweepService
from testkit.builders import discussion, harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository


class FakeDueIndex:
    def __init__(self, repository: InMemoryCaseRepository) -> None:
        self.repository = repository
        self.forgotten: set[tuple[str, str, str]] = set()

    async def due_hints(self, until: datetime) -> list[DueHint]:
        # Every clock any saved state ever ran, as the index would hold it (stale ones included).
        hints = {
            (case.id, c.stage, c.clock): DueHint(case.id, c.stage, c.clock, c.effective_due)
            for case in self.repository.states.values()
            for c in case.clocks
            if c.effective_due <= until
        }
        return [h for key, h in hints.items() if key not in self.forgotten]

    async def forget(self, hint: DueHint) -> None:
        self.forgotten.add((hint.case_id, hint.stage, hint.clock))


class FakeQueue:
    def __init__(self) -> None:
        self.queued: dict[str, Notification] = {}

    async def queue(self, notification: Notification, now: datetime) -> bool:
        if notification.key in self.queued:
            return False
        self.queued[notification.key] = notification
        return True


class FakeLease:
    def __init__(self) -> None:
        self.held = False

    async def take(self, now: datetime) -> bool:
        if self.held:
            return False
        self.held = True
        return True

    async def release(self) -> None:
        self.held = False


def sweeper(
    repository: InMemoryCaseRepository,
    packs: PackRegistry,
    directory: Directory,
    queue: FakeQueue,
    lease: FakeLease,
) -> SweepService:
    return SweepService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(directory),
        due_index=FakeDueIndex(repository),
        queue=queue,
        lease=lease,
    )


async def test_due_nudges_are_queued_once_and_stale_hints_forgotten(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
    clock: FakeClock,
) -> None:
    packs = PackRegistry([redbridge, harrow])
    queue, lease = FakeQueue(), FakeLease()
    sweep = sweeper(repository, packs, directory, queue, lease)
    case_id = (await service.execute(redbridge_raise())).case.id  # Tue 1 Dec 2026
    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)  # Thursday: early warning for 'respond' (Fri)
    first = await sweep.sweep(at)
    assert first.queued and all(
        ":nudge:1:respond:early_warning:2026-12-03:" in k for k in first.queued
    )
    again = await sweep.sweep(at)
    assert again.queued == [] and again.already_queued == len(first.queued)
    # The case moves on: stage 1's hints are stale and forgotten; only stage 2 is nudged.
    clock.set("2026-12-03T10:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    later = await sweep.sweep(datetime(2026, 12, 10, 9, 30, tzinfo=UTC))
    assert later.stale_hints >= 1
    assert {k.split(":nudge:")[1].split(":")[0] for k in later.queued} == {"2"}


async def test_a_held_lease_means_no_sweep(
    repository: InMemoryCaseRepository, redbridge: PolicyPack, directory: Directory
) -> None:
    lease = FakeLease()
    lease.held = True  # another instance is sweeping
    report = await sweeper(
        repository, PackRegistry([redbridge]), directory, FakeQueue(), lease
    ).sweep(datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    assert report.swept is False and report.queued == []


async def test_a_case_of_a_board_with_no_pack_here_does_not_stop_the_sweep(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    """An instance that runs Redbridge alone still nudges Redbridge cases when the store holds a
    Harrow case; the Harrow case is reported and its hints are kept for an instance with the pack."""
    redbridge_case = (await service.execute(redbridge_raise())).case.id
    harrow_case = (await service.execute(harrow_raise())).case.id
    queue = FakeQueue()
    sweep = sweeper(repository, PackRegistry([redbridge]), directory, queue, FakeLease())
    harrow_clocks = [c for c in repository.states[harrow_case].clocks if c.status == "running"]
    assert harrow_clocks  # the Harrow case has clocks the index would offer
    report = await sweep.sweep(max(c.effective_due for c in harrow_clocks))
    assert report.no_pack == [harrow_case]
    assert report.queued and all(k.startswith(f"{redbridge_case}:") for k in report.queued)
    index = sweep._due_index
    assert isinstance(index, FakeDueIndex)
    forgotten = index.forgotten
    assert not any(case_id == harrow_case for case_id, _, _ in forgotten)
