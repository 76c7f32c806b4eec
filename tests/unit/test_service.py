"""The service layer: commands against a repository and a notifier, with fakes of both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from escalation.case import Case
from escalation.commands import ApproveRecord, Escalate
from escalation.errors import ConcurrencyConflict, RefusalCode, Refused
from escalation.events import Event, verify_chain
from escalation.notifications import Notification
from escalation.ports import StoredCase
from escalation.service import EscalationService, random_case_id
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier


class InterleavingRepository(InMemoryCaseRepository):
    """Yields to the event loop between reading and writing, as a real store does."""

    async def load(self, case_id: str) -> StoredCase | None:
        stored = await super().load(case_id)
        await asyncio.sleep(0)
        return stored


class FailingRepository(InMemoryCaseRepository):
    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    async def save(
        self,
        case: Case,
        new_events: Sequence[Event],
        notifications: Sequence[Notification],
        *,
        expected_version: int,
        previous: Case | None = None,
    ) -> None:
        if self.fail:
            raise ConnectionError("storage unavailable")
        await super().save(case, new_events, notifications, expected_version=expected_version)


async def test_events_and_notifications_are_saved_together_then_notified(
    service: EscalationService, repository: InMemoryCaseRepository, notifier: RecordingNotifier
) -> None:
    out = await service.execute(redbridge_raise())
    case_id = out.case.id
    assert repository.events[case_id] == list(out.events)
    assert repository.states[case_id] == out.case
    assert set(repository.outbox) == {n.key for n in out.notifications}
    assert notifier.sent == list(out.notifications)
    assert verify_chain(case_id, repository.events[case_id]) == []


async def test_each_notification_has_a_stable_idempotency_key(service: EscalationService) -> None:
    out = await service.execute(redbridge_raise())
    keys = [n.key for n in out.notifications]
    assert len(keys) == len(set(keys))
    [entered] = [n for n in out.notifications if n.kind == "stage_entered"]
    assert entered.key == f"{out.case.id}:{entered.event_seq}:stage_entered:person:noah"
    assert entered.reason and entered.clauses == ("RB-4.4", "RB-2.1")


async def test_a_refused_command_changes_nothing_and_tells_nobody(
    service: EscalationService, repository: InMemoryCaseRepository, notifier: RecordingNotifier
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    events, outbox, sent = (
        list(repository.events[case_id]),
        dict(repository.outbox),
        list(notifier.sent),
    )
    with pytest.raises(Refused):
        await service.execute(ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1"))
    assert (repository.events[case_id], repository.outbox, notifier.sent) == (events, outbox, sent)


async def test_a_raise_tried_again_by_its_id_never_opens_a_second_case(
    service: EscalationService, repository: InMemoryCaseRepository, notifier: RecordingNotifier
) -> None:
    first = await service.execute(redbridge_raise())
    sent = list(notifier.sent)
    with pytest.raises(ConcurrencyConflict):
        await service.execute(redbridge_raise(), case_id=first.case.id)
    assert list(repository.events) == [first.case.id]
    assert repository.events[first.case.id] == list(first.events)
    assert notifier.sent == sent
    # An id nothing was saved as opens as that case.
    again = await service.execute(redbridge_raise(), case_id="RB-2026-AAAAAA")
    assert again.case.id == "RB-2026-AAAAAA"
    assert set(repository.events) == {first.case.id, again.case.id}


async def test_a_storage_failure_sends_nothing(
    make_service: Callable[..., EscalationService], notifier: RecordingNotifier
) -> None:
    repository = FailingRepository()
    service = make_service(repository=repository)
    case_id = (await service.execute(redbridge_raise())).case.id
    sent, events = list(notifier.sent), list(repository.events[case_id])
    repository.fail = True
    with pytest.raises(ConnectionError):
        await service.execute(discussion("noah", case_id, events[-1].at, "continuing"))
    assert notifier.sent == sent
    assert repository.events[case_id] == events


async def test_two_concurrent_changes_to_one_case_cannot_both_win(
    make_service: Callable[..., EscalationService], clock: FakeClock
) -> None:
    repository = InterleavingRepository()
    service = make_service(repository=repository)
    case_id = (await service.execute(redbridge_raise())).case.id
    shown = (
        await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    ).case.version
    # Both parties press Escalate on the same card at the same moment.
    results = await asyncio.gather(
        service.execute(
            Escalate(actor_id="amara", case_id=case_id, reason="a", expected_version=shown)
        ),
        service.execute(
            Escalate(actor_id="noah", case_id=case_id, reason="b", expected_version=shown)
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], Refused) and losses[0].code == RefusalCode.STALE
    case = await service.case(case_id)
    assert [v.stage for v in case.stages] == ["1", "2"]
    assert verify_chain(case_id, repository.events[case_id]) == []


async def test_a_conflict_is_retried_on_the_new_state(
    make_service: Callable[..., EscalationService], clock: FakeClock
) -> None:
    """Without a version on the command, the loser is decided again on what the winner left."""
    repository = InterleavingRepository()
    service = make_service(repository=repository)
    case_id = (await service.execute(redbridge_raise())).case.id
    await service.execute(discussion("noah", case_id, clock.now, "continuing"))
    results = await asyncio.gather(
        service.execute(ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1")),
        service.execute(ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1")),
        return_exceptions=True,
    )
    refusals = [r for r in results if isinstance(r, Refused)]
    assert len(refusals) == 1 and refusals[0].code == RefusalCode.INVALID_STATE
    assert len((await service.case(case_id)).records[0].approvals) == 1


async def test_a_case_that_stays_busy_is_refused_cleanly(
    make_service: Callable[..., EscalationService], clock: FakeClock
) -> None:
    class AlwaysConflicting(InMemoryCaseRepository):
        async def save(
            self,
            case: Case,
            new_events: Sequence[Event],
            notifications: Sequence[Notification],
            *,
            expected_version: int,
            previous: Case | None = None,
        ) -> None:
            if expected_version > 0:
                raise ConcurrencyConflict("someone else")
            await super().save(case, new_events, notifications, expected_version=expected_version)

    service = make_service(repository=AlwaysConflicting())
    case_id = (await service.execute(redbridge_raise())).case.id
    with pytest.raises(Refused) as info:
        await service.execute(discussion("noah", case_id, clock.now, "continuing"))
    assert info.value.code == RefusalCode.CONFLICT


async def test_a_naive_service_clock_is_a_programming_error(
    make_service: Callable[..., EscalationService],
) -> None:
    from datetime import datetime

    service = make_service(now=lambda: datetime(2026, 12, 1, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        await service.execute(redbridge_raise())


def test_case_ids_are_readable_and_unguessable(clock: FakeClock) -> None:
    ids = {random_case_id("RB", clock.now) for _ in range(200)}
    assert len(ids) == 200
    for case_id in ids:
        prefix, year, suffix = case_id.split("-")
        assert (prefix, year, len(suffix)) == ("RB", "2026", 6)
        assert not set(suffix) & set("01OI")


async def test_a_failed_delivery_is_recorded_once_and_the_raiser_told(
    service: EscalationService,
) -> None:
    from escalation.commands import RecordDeliveryFailure
    from escalation.rules.context import SYSTEM

    case_id = (await service.execute(redbridge_raise())).case.id
    failure = RecordDeliveryFailure(
        actor_id=SYSTEM,
        case_id=case_id,
        recipient_id="noah",
        kind="stage_entered",
        error="403: app removed",
    )
    out = await service.execute(failure)
    assert [(f.recipient_id, f.kind) for f in out.case.delivery_failures] == [
        ("noah", "stage_entered")
    ]
    [told] = [n for n in out.notifications if n.kind == "contact_by_hand"]
    assert told.recipient.key == "person:amara" and "could not reach Noah" in told.reason
    with pytest.raises(Refused) as again:
        await service.execute(failure)  # no loop of failures about failures
    assert again.value.code == RefusalCode.INVALID_STATE
    with pytest.raises(Refused) as forged:
        await service.execute(
            RecordDeliveryFailure(
                actor_id="amara", case_id=case_id, recipient_id="lena", kind="x", error="y"
            )
        )
    assert forged.value.code == RefusalCode.NOT_PERMITTED


async def test_when_the_raiser_cannot_be_reached_their_manager_is_told(
    service: EscalationService,
) -> None:
    from escalation.commands import RecordDeliveryFailure
    from escalation.rules.context import SYSTEM

    case_id = (await service.execute(redbridge_raise())).case.id
    out = await service.execute(
        RecordDeliveryFailure(
            actor_id=SYSTEM, case_id=case_id, recipient_id="amara", kind="case_opened", error="404"
        )
    )
    assert {n.recipient.key for n in out.notifications if n.kind == "contact_by_hand"} == {
        "person:lena"
    }
