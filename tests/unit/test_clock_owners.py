"""A clock is met by what its owner does, or by an event the policy names: another person's
record never answers for the owner."""

from __future__ import annotations

import pytest

from escalation.case import Case, ClockStatus
from escalation.commands import ApproveRecord, ConfirmOutcome, OtherParty
from escalation.service import EscalationService
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock


def status(case: Case, clock_id: str) -> ClockStatus:
    [clock] = [c for c in case.clocks_of_stage("1") if c.clock == clock_id]
    return clock.status


@pytest.mark.clause("RB-4.4")
async def test_the_raisers_record_does_not_meet_the_receivers_clock_until_he_approves_it(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    recorded = await service.execute(discussion("amara", case_id, clock.now, "not_resolved"))
    assert status(recorded.case, "respond") == ClockStatus.RUNNING
    approved = await service.execute(
        ApproveRecord(actor_id="noah", case_id=case_id, record_id="R1")
    )
    assert status(approved.case, "respond") == ClockStatus.MET


@pytest.mark.clause("RB-4.4")
async def test_the_receivers_own_record_meets_his_clock(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    recorded = await service.execute(discussion("noah", case_id, clock.now, "continuing"))
    assert status(recorded.case, "respond") == ClockStatus.MET


@pytest.mark.clause("RB-4.4")
async def test_the_receivers_written_confirmation_meets_his_clocks(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    recorded = await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    assert status(recorded.case, "respond") == ClockStatus.RUNNING
    confirmed = await service.execute(
        ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Joint visit on Friday")
    )
    assert status(confirmed.case, "confirm") == ClockStatus.MET
    assert status(confirmed.case, "respond") == ClockStatus.MET


@pytest.mark.clause("RB-4.4")
async def test_for_a_professional_not_on_teams_the_raisers_record_answers_for_the_clock(
    service: EscalationService, clock: FakeClock
) -> None:
    police = OtherParty(agency_id="met-police", name="DC Priya Shah", email="p.shah@example.org")
    case_id = (await service.execute(redbridge_raise(other_party=police))).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    recorded = await service.execute(
        discussion("amara", case_id, clock.now, "continuing", participants=("amara", "DC Shah"))
    )
    assert status(recorded.case, "respond") == ClockStatus.MET
