"""A Harrow case: the same engine, a different pack (clause ids from POLICY-CLAUSES.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from escalation.case import CaseStatus, ClockStatus
from escalation.commands import (
    CaseConferenceDetails,
    CloseCase,
    ConvenePanel,
    Escalate,
    OtherParty,
    RecordPanelDecision,
    RecordRepresentation,
)
from escalation.errors import RefusalCode
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, harrow_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import HARROW_PEOPLE, harrow_at_stage
from tests.unit.case_checks import due, refused, status, told


@pytest.mark.clause("HW-0", "HW-4.1")
async def test_a_case_starts_at_stage_1_with_a_local_review_interval(
    service: EscalationService,
) -> None:
    out = await service.execute(harrow_raise())
    assert out.case.stage == "1"
    [review] = out.case.clocks
    # Harrow sets no timescale: the review interval is the board's local default, not policy.
    assert review.local_default and review.clock == "review"
    assert review.due == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    assert told(out, "stage_entered") == {"person:colin"}


@pytest.mark.clause("HW-0", "HW-3")
async def test_immediate_harm_may_start_at_a_later_stage_with_a_recorded_reason(
    service: EscalationService,
) -> None:
    out = await service.execute(
        harrow_raise(
            immediate_risk=True,
            start_stage="3",
            start_reason="Eviction on Friday; managers unavailable",
        )
    )
    assert out.case.stage == "3"
    assert out.case.stages[0].reason == "Eviction on Friday; managers unavailable"
    # The designated safeguarding lead is informed; the line manager is consulted.
    assert told(out, "immediate_risk") == {"person:hsl", "person:harry"}
    assert told(out, "stage_entered") == {"person:hbm", "person:cbm"}
    # A protective clock falls due by the end of the working day.
    assert due(out, "3", "review") == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


@pytest.mark.clause("HW-0")
async def test_a_later_start_needs_immediate_harm_and_a_reason(service: EscalationService) -> None:
    await refused(
        service, harrow_raise(start_stage="3", start_reason="hurry"), RefusalCode.NOT_PERMITTED
    )
    await refused(
        service, harrow_raise(immediate_risk=True, start_stage="3"), RefusalCode.INVALID_INPUT
    )
    await refused(
        service,
        harrow_raise(immediate_risk=True, start_stage="T2", start_reason="x"),
        RefusalCode.INVALID_INPUT,
    )


@pytest.mark.clause("HW-0w")
async def test_a_disagreement_with_your_own_manager_goes_to_whistle_blowing(
    service: EscalationService, repository: InMemoryCaseRepository
) -> None:
    refusal = await refused(
        service,
        harrow_raise(other_party=OtherParty(agency_id="harrow-council", person_id="harry")),
        RefusalCode.OWN_MANAGER,
    )
    assert refusal.signpost == "whistleblowing" and refusal.clauses == ("HW-0w",)
    assert "whistle-blowing" in refusal.reason
    assert repository.events == {}


@pytest.mark.clause("HW-2")
async def test_the_harrow_categories_are_the_policys(
    service: EscalationService, harrow: PolicyPack
) -> None:
    assert [c.id for c in harrow.categories][:6] == [
        "thresholds",
        "roles-responsibilities",
        "drift",
        "communication",
        "information-sharing",
        "no-further-involvement",
    ]
    out = await service.execute(harrow_raise(category="information-sharing"))
    assert out.case.category == "information-sharing"
    await refused(
        service, harrow_raise(category="eligibility"), RefusalCode.INVALID_INPUT
    )  # a Redbridge category


@pytest.mark.clause("HW-4.1")
async def test_stage_1_records_need_the_points_of_difference(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(harrow_raise())).case.id
    await refused(
        service,
        discussion(
            "colin",
            case_id,
            clock.now,
            "continuing",
            points_of_difference="",
            participants=HARROW_PEOPLE,
        ),
        RefusalCode.INVALID_INPUT,
    )
    out = await service.execute(
        discussion(
            "colin",
            case_id,
            clock.now,
            "continuing",
            method="teams call",
            participants=HARROW_PEOPLE,
        )
    )
    assert out.case.records[0].points_of_difference == "Timing of the joint visit."
    assert out.case.records[0].method == "teams call"


@pytest.mark.clause("HW-4.2")
async def test_stage_2_needs_the_aim_evidence_and_its_source_and_reaches_both_managers(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(harrow_raise())).case.id
    for missing in ("aim", "evidence", "evidence_source"):
        fields = {
            "aim": "An enquiry",
            "evidence": "Fire report",
            "evidence_source": "LFB visit",
            missing: "",
        }
        await refused(
            service,
            Escalate(
                actor_id="hana",
                case_id=case_id,
                reason="Unsafe decision",
                aim=fields["aim"],
                evidence=fields["evidence"],
                evidence_source=fields["evidence_source"],
            ),
            RefusalCode.INVALID_INPUT,
        )
    out = await service.execute(
        Escalate(
            actor_id="hana",
            case_id=case_id,
            reason="Unsafe decision",
            aim="An enquiry",
            evidence="Fire report",
            evidence_source="LFB visit",
        )
    )
    assert out.case.stage == "2"
    assert dict(out.case.stages[-1].details) == {
        "reason": "Unsafe decision",
        "aim": "An enquiry",
        "evidence": "Fire report",
        "evidence_source": "LFB visit",
    }
    assert told(out, "stage_entered") == {"person:harry", "person:cara"}
    # The basis of any decision is recorded at stage 2.
    await refused(
        service,
        discussion(
            "harry",
            case_id,
            clock.now,
            "not_resolved",
            basis_of_decision="",
            participants=("harry", "cara"),
        ),
        RefusalCode.INVALID_INPUT,
    )


@pytest.mark.clause("HW-4.3")
async def test_stage_3_is_between_the_agencies_board_members(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await harrow_at_stage(service, clock, "2")
    await service.execute(
        discussion("harry", case_id, clock.now, "not_resolved", participants=("harry", "cara"))
    )
    out = await service.execute(
        Escalate(actor_id="cara", case_id=case_id, reason="Managers disagree")
    )
    assert out.case.stage == "3"
    assert told(out, "stage_entered") == {"person:hbm", "person:cbm"}
    await refused(
        service,
        discussion(
            "hbm",
            case_id,
            clock.now,
            "continuing",
            points_of_difference="",
            participants=("hbm", "cbm"),
        ),
        RefusalCode.INVALID_INPUT,
    )


@pytest.mark.clause("HW-4.4")
async def test_the_resolution_panel_has_three_uninvolved_member_agencies_and_binds(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await harrow_at_stage(service, clock, "4")
    case = await service.case(case_id)
    assert case.stage == "4" and case.copied_to_business_manager
    await refused(
        service,
        ConvenePanel(
            actor_id="hw-chair", case_id=case_id, agency_ids=("met-police", "lfb", "probation")
        ),
        RefusalCode.NOT_PERMITTED,
    )
    involved = await refused(
        service,
        ConvenePanel(actor_id="hssp", case_id=case_id, agency_ids=("met-police", "lfb", "cnwl")),
        RefusalCode.INVALID_INPUT,
    )
    assert "concerned in the disagreement" in involved.reason
    await refused(
        service,
        ConvenePanel(actor_id="hssp", case_id=case_id, agency_ids=("met-police", "lfb", "lfb")),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        ConvenePanel(actor_id="hssp", case_id=case_id, agency_ids=("met-police", "lfb", "acme")),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        RecordRepresentation(actor_id="colin", case_id=case_id, agency_id="cnwl", summary="x"),
        RefusalCode.INVALID_STATE,
    )

    convened = await service.execute(
        ConvenePanel(
            actor_id="hssp", case_id=case_id, agency_ids=("met-police", "lfb", "probation")
        )
    )
    assert convened.case.panel is not None and convened.case.panel.agency_ids == (
        "met-police",
        "lfb",
        "probation",
    )
    assert {"person:hw-chair", "person:hana", "person:colin", "channel:harrow"} <= told(
        convened, "panel_convened"
    )
    await refused(
        service,
        RecordPanelDecision(actor_id="hssp", case_id=case_id, decision="Enquiry"),
        RefusalCode.INVALID_STATE,
    )
    await refused(
        service,
        RecordRepresentation(
            actor_id="colin", case_id=case_id, agency_id="harrow-council", summary="x"
        ),
        RefusalCode.NOT_PERMITTED,
    )
    await service.execute(
        RecordRepresentation(
            actor_id="colin", case_id=case_id, agency_id="cnwl", summary="Threshold not met"
        )
    )
    await service.execute(
        RecordRepresentation(
            actor_id="hana",
            case_id=case_id,
            agency_id="harrow-council",
            summary="Fire risk is high",
        )
    )
    await refused(
        service,
        RecordPanelDecision(actor_id="colin", case_id=case_id, decision="Mine"),
        RefusalCode.NOT_PERMITTED,
    )
    decided = await service.execute(
        RecordPanelDecision(
            actor_id="hssp", case_id=case_id, decision="A section 42 enquiry opens this week"
        )
    )
    assert decided.case.status == CaseStatus.RESOLVED
    assert decided.case.panel is not None and decided.case.panel.binding
    assert "channel:harrow" in told(decided, "panel_decision")
    assert status(decided.case, "4", "review") == ClockStatus.MET


@pytest.mark.clause("HW-learn", "HW-4.4")
async def test_closure_records_learning_and_is_reported_to_the_board(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(harrow_raise())).case.id
    await service.execute(
        discussion("hana", case_id, clock.now, "resolved", participants=HARROW_PEOPLE)
    )
    from escalation.commands import ApproveOutcome, ConfirmOutcome

    await service.execute(
        ConfirmOutcome(actor_id="colin", case_id=case_id, outcome="Referral reopened")
    )
    await service.execute(ApproveOutcome(actor_id="hana", case_id=case_id))
    closed = await service.execute(
        CloseCase(
            actor_id="hana",
            case_id=case_id,
            summary="Resolved at stage 1",
            learning_points=("Threshold guidance unclear on hoarding",),
            policy_gaps=("No hoarding protocol",),
            debrief_offered=True,
        )
    )
    closure = closed.case.closure
    assert (
        closure is not None
        and closure.debrief_offered
        and closure.policy_gaps == ("No hoarding protocol",)
    )
    assert "channel:harrow" in told(
        closed, "case_closed"
    )  # Harrow reports every closure to the board
    [event] = [e for e in closed.events if e.type == "CaseClosed"]
    assert "HSAB representative" in event.data["learning_route"]


@pytest.mark.clause("HW-thr")
async def test_the_threshold_track_runs_team_manager_review_planning_meeting_then_stage_3(
    service: EscalationService, clock: FakeClock
) -> None:
    # CNWL disagrees with the council safeguarding team's threshold decision.
    out = await service.execute(
        harrow_raise(
            actor_id="colin",
            other_party=OtherParty(agency_id="harrow-council", person_id="hana"),
            track="threshold",
        )
    )
    case_id = out.case.id
    assert out.case.stage == "T1"
    assert told(out, "stage_entered") == {"person:hana", "person:tm"}
    await service.execute(
        discussion("tm", case_id, clock.now, "not_resolved", participants=("colin", "tm"))
    )
    clock.set("2026-12-04T15:00:00+00:00")  # Friday
    reviewed = await service.execute(
        Escalate(actor_id="tm", case_id=case_id, reason="No agreement with the Team Manager")
    )
    assert reviewed.case.stage == "T2"
    assert told(reviewed, "stage_entered") == {"person:dols"}
    # The manager reviews the decision within one working day: Monday 7 December.
    assert due(reviewed, "T2", "review") == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    review = reviewed.case.running_clock("T2", "review")
    assert review is not None and not review.local_default
    clock.set("2026-12-07T10:00:00+00:00")
    enquiry = await service.execute(
        Escalate(actor_id="dols", case_id=case_id, reason="Reviewer unavailable")
    )
    assert enquiry.case.stage == "T3"
    assert status(enquiry.case, "T3", "referral") == ClockStatus.MET  # proceeded immediately
    meeting = await service.execute(
        Escalate(actor_id="tm", case_id=case_id, reason="No agreement at the planning meeting")
    )
    assert meeting.case.stage == "3"
    assert told(meeting, "stage_entered") == {"person:hbm", "person:cbm"}


@pytest.mark.clause("HW-5")
async def test_dissent_at_a_case_conference_is_minuted_and_the_decision_stands(
    service: EscalationService,
) -> None:
    conference = CaseConferenceDetails(
        meeting="Safeguarding adults case conference",
        meeting_date=date(2026, 11, 30),
        dissent_minuted=True,
        raised_with_chair=True,
    )
    out = await service.execute(harrow_raise(case_conference=conference))
    assert out.case.case_conference is not None
    assert out.case.case_conference["decision_stands"] is True
    assert out.case.case_conference["raised_with_chair"] is True
    assert told(out, "case_conference_dissent") == {"person:hsl"}
    unminuted = CaseConferenceDetails(
        meeting="Planning meeting", meeting_date=date(2026, 11, 30), dissent_minuted=False
    )
    refusal = await refused(
        service, harrow_raise(case_conference=unminuted), RefusalCode.INVALID_INPUT
    )
    assert refusal.clauses == ("HW-5",)


@pytest.mark.clause("HW-5")
async def test_the_case_conference_route_is_harrows_alone(service: EscalationService) -> None:
    from testkit.builders import redbridge_raise

    conference = CaseConferenceDetails(
        meeting="Case conference", meeting_date=date(2026, 11, 30), dissent_minuted=True
    )
    await refused(service, redbridge_raise(case_conference=conference), RefusalCode.INVALID_INPUT)


@pytest.mark.clause("HW-3")
async def test_resource_implications_involve_managers_who_allocate_resources(
    service: EscalationService, clock: FakeClock
) -> None:
    out = await service.execute(harrow_raise(resource_implications=True))
    assert told(out, "resource_implications") == {"person:harry", "person:cara"}
    # They may act on the case, for instance escalate it.
    moved = await service.execute(
        Escalate(
            actor_id="cara",
            case_id=out.case.id,
            reason="Funding decision needed",
            aim="Funding",
            evidence="Care plan",
            evidence_source="Assessment",
        )
    )
    assert moved.case.stage == "2"


@pytest.mark.clause("HW-3")
async def test_immediate_risk_informs_the_designated_safeguarding_lead(
    service: EscalationService,
) -> None:
    out = await service.execute(harrow_raise(immediate_risk=True))
    assert "person:hsl" in told(out, "immediate_risk")
    assert out.case.stage == "1"


async def test_a_binding_panel_decision_cannot_be_escalated(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await harrow_at_stage(service, clock, "4")
    await refused(
        service,
        Escalate(actor_id="hssp", case_id=case_id, reason="again"),
        RefusalCode.INVALID_STATE,
    )
