"""A Redbridge case from start to finish, rule by rule (clause ids from POLICY-CLAUSES.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from escalation.case import CaseStatus, ClockStatus
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CloseCase,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RecordAgencyResponse,
    RecordRecommendations,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.errors import RefusalCode
from escalation.policy import PolicyPack
from escalation.rules.raising import own_manager_rule
from escalation.service import EscalationService
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import at_stage_2, at_stage_3
from tests.unit.case_checks import due, refused, status, told

GMT = UTC  # Redbridge deadlines in December fall in GMT (offset +00:00)


# -- raising ------------------------------------------------------------------------------------


@pytest.mark.clause("RB-4.4", "RB-2.1", "RB-flow")
async def test_a_case_opens_at_stage_1_with_its_clocks(service: EscalationService) -> None:
    out = await service.execute(redbridge_raise())  # Tuesday 1 December 2026, 10:00
    case = out.case
    assert (case.stage, case.status, case.version) == ("1", CaseStatus.OPEN, len(out.events))
    # raise: 2 WD from the disagreement on Monday 30 November; it is met by raising now
    assert due(case, "1", "raise") == datetime(2026, 12, 2, 17, 0, tzinfo=GMT)
    assert status(case, "1", "raise") == ClockStatus.MET
    # respond: 3 WD from being raised; resolve: the flowchart's 5 WD for stage 1
    assert due(case, "1", "respond") == datetime(2026, 12, 4, 17, 0, tzinfo=GMT)
    assert due(case, "1", "resolve") == datetime(2026, 12, 8, 17, 0, tzinfo=GMT)
    assert not [c for c in case.clocks if c.clock == "confirm"]  # starts when agreement is reached
    assert told(out, "stage_entered") == {"person:noah"}
    assert told(out, "case_opened") == {"person:amara"}


@pytest.mark.clause("RB-4.4")
async def test_raising_late_records_the_raise_clock_as_missed(service: EscalationService) -> None:
    # Disagreement on Wednesday 25 November: 2 WD ends Friday 27 November, 17:00.
    out = await service.execute(redbridge_raise(disagreement_date=date(2026, 11, 25)))
    assert due(out, "1", "raise") == datetime(2026, 11, 27, 17, 0, tzinfo=GMT)
    assert status(out.case, "1", "raise") == ClockStatus.MISSED


@pytest.mark.clause("RB-4.2")
@pytest.mark.parametrize("missing", ["issue", "risk_to_adult", "nature_of_disagreement", "aim"])
async def test_raising_requires_the_issue_risk_nature_and_aims(
    service: EscalationService, repository: InMemoryCaseRepository, missing: str
) -> None:
    reason = await refused(service, redbridge_raise(**{missing: "  "}), RefusalCode.INVALID_INPUT)
    assert "required" in reason.reason
    assert repository.events == {}


@pytest.mark.clause("RB-4.4")
async def test_raising_requires_evidence_based_reasons(service: EscalationService) -> None:
    await refused(service, redbridge_raise(evidence=""), RefusalCode.INVALID_INPUT)


@pytest.mark.clause("RB-3.1")
async def test_every_category_of_the_policy_can_be_chosen_and_no_other(
    service: EscalationService, redbridge: PolicyPack
) -> None:
    for category in redbridge.categories:
        out = await service.execute(redbridge_raise(category=category.id))
        assert out.case.category == category.id
    await refused(service, redbridge_raise(category="parking"), RefusalCode.INVALID_INPUT)


@pytest.mark.clause("RB-4.1", "RB-1.4")
async def test_immediate_risk_tells_manager_and_safeguarding_lead_and_starts_the_shortest_clocks(
    service: EscalationService,
) -> None:
    # Nothing blocks the urgent path: only the issue and the risk are needed to open it.
    out = await service.execute(
        redbridge_raise(immediate_risk=True, nature_of_disagreement="", aim="", evidence="")
    )
    assert out.case.immediate_risk
    assert told(out, "immediate_risk") == {"person:lena", "person:sgl-asc"}
    # Protective clocks fall due by the end of today; the raise clock (not protective) does not.
    end_of_today = datetime(2026, 12, 1, 17, 0, tzinfo=GMT)
    assert due(out, "1", "respond") == end_of_today
    assert due(out, "1", "resolve") == end_of_today
    assert due(out, "1", "raise") == datetime(2026, 12, 2, 17, 0, tzinfo=GMT)
    [respond] = [c for c in out.case.clocks if c.clock == "respond"]
    assert respond.basis.startswith("immediate risk") and "RB-4.1" in respond.clauses


@pytest.mark.clause("RB-4.1")
async def test_immediate_risk_cannot_choose_a_later_stage_at_redbridge(
    service: EscalationService,
) -> None:
    await refused(
        service,
        redbridge_raise(immediate_risk=True, start_stage="3", start_reason="urgent"),
        RefusalCode.NOT_PERMITTED,
    )


@pytest.mark.clause("RB-1.6")
async def test_a_child_concern_shows_the_mash_route_and_records_it(
    service: EscalationService,
) -> None:
    out = await service.execute(redbridge_raise(child_concern=True))
    assert out.case.signposts_shown == ("mash",)
    [note] = [n for n in out.notifications if n.kind == "signpost"]
    assert note.recipient.key == "person:amara" and note.details["signpost"] == "mash"
    assert "RB-1.6" in note.clauses


@pytest.mark.clause("RB-1.5")
async def test_a_disagreement_with_your_own_manager_is_signposted_not_opened(
    service: EscalationService, repository: InMemoryCaseRepository
) -> None:
    refusal = await refused(
        service,
        redbridge_raise(other_party=OtherParty(agency_id="redbridge-asc", person_id="lena")),
        RefusalCode.OWN_MANAGER,
    )
    assert refusal.signpost == "whistleblowing"
    assert "whistle-blowing" in refusal.reason
    assert repository.events == {}


def test_the_own_manager_rule_applies_only_to_the_raisers_manager_in_the_directory(
    redbridge: PolicyPack, directory: Directory
) -> None:
    # The raise dialog asks this rule as soon as the other professional is named.
    amara = directory.person("amara")
    assert amara is not None and amara.line_manager_id == "lena"
    assert own_manager_rule(redbridge, amara, "lena") is redbridge.own_manager
    assert own_manager_rule(redbridge, amara, "noah") is None
    # Someone not on Teams has no directory id, so is nobody's line manager: not even for a
    # raiser the directory gives no manager.
    unmanaged = replace(amara, line_manager_id=None)
    assert own_manager_rule(redbridge, unmanaged, None) is None


async def test_raising_refuses_nonsense(service: EscalationService, clock: FakeClock) -> None:
    await refused(
        service, redbridge_raise(disagreement_date=date(2026, 12, 2)), RefusalCode.INVALID_INPUT
    )
    await refused(service, redbridge_raise(actor_id="stranger"), RefusalCode.NOT_PERMITTED)
    await refused(
        service,
        redbridge_raise(other_party=OtherParty(agency_id="mars")),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        redbridge_raise(other_party=OtherParty(agency_id="nelft", person_id="amara")),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        redbridge_raise(other_party=OtherParty(agency_id="nelft", person_id="ghost")),
        RefusalCode.INVALID_INPUT,
    )
    await refused(service, redbridge_raise(adult_reference="x" * 65), RefusalCode.INVALID_INPUT)
    await refused(service, redbridge_raise(issue="x" * 4001), RefusalCode.INVALID_INPUT)
    await refused(service, redbridge_raise(adult_initials="J.S."), RefusalCode.INVALID_INPUT)
    await refused(service, redbridge_raise(board_id="atlantis"), RefusalCode.INVALID_INPUT)


# -- stage 1: records and resolution ------------------------------------------------------------


@pytest.mark.clause("RB-4.3", "RB-4.4")
async def test_a_discussion_is_recorded_then_approved_by_the_other_party(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T09:30:00+00:00")
    held = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    out = await service.execute(
        discussion("noah", case_id, held, "continuing", outstanding_issues="GP to be asked")
    )
    [record] = out.case.records
    assert (record.author, record.held_at, record.recorded_at) == ("noah", held, clock.now)
    assert record.points_of_difference == "Timing of the joint visit."
    assert record.outstanding_issues == "GP to be asked"
    assert status(out.case, "1", "respond") == ClockStatus.MET  # spoke within 3 WD
    assert "person:amara" in told(out, "record_awaiting_approval")
    assert "person:noah" not in told(out, "record_awaiting_approval")

    await refused(
        service,
        ApproveRecord(actor_id="noah", case_id=case_id, record_id="R1"),
        RefusalCode.NOT_PERMITTED,
    )
    await refused(
        service,
        ApproveRecord(actor_id="rb-chair", case_id=case_id, record_id="R1"),
        RefusalCode.NOT_PERMITTED,
    )
    clock.set("2026-12-03T10:00:00+00:00")
    approved = await service.execute(
        ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1")
    )
    [record] = approved.case.records
    assert [(a.by, a.at) for a in record.approvals] == [("amara", clock.now)]
    assert told(approved, "record_approved") == {"person:noah"}
    await refused(
        service,
        ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1"),
        RefusalCode.INVALID_STATE,
    )
    await refused(
        service,
        ApproveRecord(actor_id="amara", case_id=case_id, record_id="R9"),
        RefusalCode.NOT_FOUND,
    )


@pytest.mark.clause("RB-4.3")
async def test_a_discussion_record_must_make_sense(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    future = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    await refused(
        service, discussion("noah", case_id, future, "continuing"), RefusalCode.INVALID_INPUT
    )
    before = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    await refused(
        service, discussion("noah", case_id, before, "continuing"), RefusalCode.INVALID_INPUT
    )
    await refused(
        service,
        discussion("noah", case_id, clock.now, "continuing", participants=()),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        discussion("noah", case_id, clock.now, "resolved", agreed_outcome=""),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service, discussion("rb-chair", case_id, clock.now, "continuing"), RefusalCode.NOT_PERMITTED
    )


@pytest.mark.clause("RB-4.4", "RB-flow", "RB-4.3")
async def test_resolution_at_stage_1_is_confirmed_in_writing_and_approved(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")  # Thursday
    agreed = await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    # Outcome confirmed in writing within a further 2 WD: Monday 7 December, 17:00.
    assert due(agreed, "1", "confirm") == datetime(2026, 12, 7, 17, 0, tzinfo=GMT)

    await refused(
        service, ApproveOutcome(actor_id="amara", case_id=case_id), RefusalCode.INVALID_STATE
    )
    await refused(
        service,
        ConfirmOutcome(actor_id="amara", case_id=case_id, outcome="Joint visit"),
        RefusalCode.NOT_PERMITTED,
    )
    clock.set("2026-12-04T09:00:00+00:00")
    confirmed = await service.execute(
        ConfirmOutcome(
            actor_id="noah",
            case_id=case_id,
            outcome="Joint visit Friday 11 December",
            outstanding_issues="Care review to follow",
        )
    )
    assert status(confirmed.case, "1", "confirm") == ClockStatus.MET
    assert told(confirmed, "outcome_awaiting_approval") == {"person:amara"}
    await refused(
        service,
        ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="again"),
        RefusalCode.INVALID_STATE,
    )
    await refused(
        service, ApproveOutcome(actor_id="noah", case_id=case_id), RefusalCode.NOT_PERMITTED
    )

    resolved = await service.execute(ApproveOutcome(actor_id="amara", case_id=case_id))
    assert resolved.case.status == CaseStatus.RESOLVED
    assert status(resolved.case, "1", "resolve") == ClockStatus.MET
    assert resolved.case.outcome is not None and resolved.case.outcome.approved_by == "amara"
    await refused(
        service,
        Escalate(actor_id="amara", case_id=case_id, reason="changed my mind"),
        RefusalCode.INVALID_STATE,
    )

    closed = await service.execute(
        CloseCase(
            actor_id="amara",
            case_id=case_id,
            summary="Resolved at stage 1",
            learning_points=("Share falls logs early",),
            debrief_offered=True,
        )
    )
    assert closed.case.status == CaseStatus.CLOSED
    assert closed.case.closure is not None and closed.case.closure.learning_points == (
        "Share falls logs early",
    )
    assert not closed.case.running_clocks()
    # Never copied to the board, so no channel copy at closure.
    assert told(closed, "case_closed") == {"person:noah"}
    await refused(
        service,
        ApproveRecord(actor_id="noah", case_id=case_id, record_id="R1"),
        RefusalCode.INVALID_STATE,
    )
    refusal = await refused(
        service,
        Escalate(actor_id="amara", case_id=case_id, reason="reopen"),
        RefusalCode.INVALID_STATE,
    )
    assert "closed" in refusal.reason
    await refused(
        service,
        CloseCase(actor_id="amara", case_id=case_id, summary="again"),
        RefusalCode.INVALID_STATE,
    )


async def test_an_open_case_cannot_be_closed(service: EscalationService) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    await refused(
        service,
        CloseCase(actor_id="amara", case_id=case_id, summary="done"),
        RefusalCode.INVALID_STATE,
    )


# -- stage 2 ------------------------------------------------------------------------------------


@pytest.mark.clause("RB-4.5")
async def test_escalation_reaches_both_line_managers_the_same_working_day(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    not_resolved = await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    assert told(not_resolved, "escalation_due") == {"person:amara"}
    clock.set("2026-12-02T14:00:00+00:00")
    out = await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    assert out.case.stage == "2"
    assert told(out, "stage_entered") == {"person:lena", "person:nadia"}
    # The referral clock ran from the failed discussion and was met by escalating that day.
    [referral] = [c for c in out.case.clocks if c.clock == "referral"]
    assert referral.started_at == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert referral.due == datetime(2026, 12, 2, 17, 0, tzinfo=GMT)
    assert referral.status == ClockStatus.MET
    # Resolve within a further 5 WD (Wednesday 9 December); stage 1's clocks have ended.
    assert due(out, "2", "resolve") == datetime(2026, 12, 9, 17, 0, tzinfo=GMT)
    assert status(out.case, "1", "resolve") == ClockStatus.ENDED
    assert told(out, "case_escalated") == {"person:noah"}


@pytest.mark.clause("RB-4.5")
async def test_escalating_the_next_day_misses_the_referral_clock(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    clock.set("2026-12-03T09:00:00+00:00")
    out = await service.execute(Escalate(actor_id="noah", case_id=case_id, reason="No agreement"))
    assert status(out.case, "2", "referral") == ClockStatus.MISSED


@pytest.mark.clause("RB-4.5", "RB-flow")
async def test_a_missed_stage_1_timescale_triggers_the_referral_clock(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-09T10:00:00+00:00")  # stage 1's 5 WD ended Tuesday 8 December 17:00
    out = await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No response"))
    [referral] = [c for c in out.case.clocks if c.clock == "referral"]
    assert referral.started_at == datetime(2026, 12, 8, 17, 0, tzinfo=GMT)
    assert referral.due == datetime(2026, 12, 9, 17, 0, tzinfo=GMT)  # after the day's end: next WD
    assert status(out.case, "1", "resolve") == ClockStatus.MISSED
    assert status(out.case, "1", "respond") == ClockStatus.MISSED


@pytest.mark.clause("RB-4.5")
async def test_at_stage_2_the_line_managers_act_not_the_practitioners(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)
    await refused(
        service,
        Escalate(actor_id="amara", case_id=case_id, reason="faster"),
        RefusalCode.NOT_PERMITTED,
    )
    await refused(
        service,
        SetProtectiveDeadline(
            actor_id="noah",
            case_id=case_id,
            clock_id="resolve",
            due=datetime(2026, 12, 3, 12, tzinfo=UTC),
            reason="x",
        ),
        RefusalCode.NOT_PERMITTED,
    )
    # ...though the practitioners may still record discussions.
    out = await service.execute(discussion("amara", case_id, clock.now, "continuing"))
    assert out.case.records[-1].stage == "2"


@pytest.mark.clause("RB-4.5")
async def test_line_managers_can_ask_the_safeguarding_leads(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)
    out = await service.execute(
        AskSafeguardingLead(
            actor_id="lena", case_id=case_id, question="Is a joint visit proportionate?"
        )
    )
    assert told(out, "advice_requested") == {"person:sgl-asc", "person:sgl-nelft"}
    assert out.case.advice_requests[0].question == "Is a joint visit proportionate?"


@pytest.mark.clause("RB-4.5", "RB-4.4")
async def test_a_protective_deadline_shortens_a_clock_and_only_shortens_it(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)  # now Wednesday 2 December 14:00
    earlier = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    out = await service.execute(
        SetProtectiveDeadline(
            actor_id="lena",
            case_id=case_id,
            clock_id="resolve",
            due=earlier,
            reason="Discharge from hospital on Friday",
        )
    )
    [clock_state] = [c for c in out.case.clocks if c.stage == "2" and c.clock == "resolve"]
    assert clock_state.effective_due == earlier
    assert clock_state.due == datetime(
        2026, 12, 9, 17, 0, tzinfo=GMT
    )  # the policy deadline is kept
    assert clock_state.protective_reason == "Discharge from hospital on Friday"
    assert "person:nadia" in told(out, "deadline_changed")
    # Later than the current deadline, in the past, or on a clock with no protective timescale:
    later = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    await refused(
        service,
        SetProtectiveDeadline(
            actor_id="nadia", case_id=case_id, clock_id="resolve", due=later, reason="x"
        ),
        RefusalCode.INVALID_INPUT,
    )
    past = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    await refused(
        service,
        SetProtectiveDeadline(
            actor_id="nadia", case_id=case_id, clock_id="resolve", due=past, reason="x"
        ),
        RefusalCode.CLOCK,
    )
    await refused(
        service,
        SetProtectiveDeadline(
            actor_id="nadia", case_id=case_id, clock_id="referral", due=earlier, reason="x"
        ),
        RefusalCode.NOT_FOUND,
    )
    await refused(
        service,
        SetProtectiveDeadline(
            actor_id="nadia",
            case_id=case_id,
            clock_id="resolve",
            due=datetime(2026, 12, 3, 12, tzinfo=UTC),
            reason=" ",
        ),
        RefusalCode.INVALID_INPUT,
    )


# -- stage 3 and 4 ------------------------------------------------------------------------------


@pytest.mark.clause("RB-4.6", "RB-flow")
async def test_stage_3_reaches_senior_managers_or_named_professional_and_copies_the_business_manager(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)
    clock.set("2026-12-04T10:00:00+00:00")  # Friday
    await service.execute(
        discussion("nadia", case_id, clock.now, "not_resolved", participants=("lena", "nadia"))
    )
    out = await service.execute(
        Escalate(actor_id="lena", case_id=case_id, reason="Managers could not agree")
    )
    assert out.case.stage == "3"
    # Senior manager at the council; in health, the named safeguarding professional.
    assert told(out, "stage_entered") == {"person:sam", "person:nina"}
    assert told(out, "business_manager_copy") == {"channel:redbridge"}
    [copy] = [n for n in out.notifications if n.kind == "business_manager_copy"]
    assert copy.clauses == ("RB-4.6",)
    # Text says 5 WD, the flowchart 2: the shorter applies (Tuesday 8 December).
    assert due(out, "3", "resolve") == datetime(2026, 12, 8, 17, 0, tzinfo=GMT)
    assert status(out.case, "3", "referral") == ClockStatus.MET


@pytest.mark.clause("RB-4.6")
async def test_stage_3_outcome_is_confirmed_by_the_receiving_senior_side(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_3(service, clock)
    await service.execute(
        discussion("sam", case_id, clock.now, "resolved", participants=("sam", "nina"))
    )
    confirm_due = datetime(2026, 12, 8, 17, 0, tzinfo=GMT)
    case = await service.case(case_id)
    assert due(case, "3", "confirm") == confirm_due
    await refused(
        service,
        ConfirmOutcome(actor_id="sam", case_id=case_id, outcome="x"),
        RefusalCode.NOT_PERMITTED,
    )
    await service.execute(
        ConfirmOutcome(actor_id="nina", case_id=case_id, outcome="Joint visit and review")
    )
    out = await service.execute(ApproveOutcome(actor_id="sam", case_id=case_id))
    assert out.case.status == CaseStatus.RESOLVED
    assert "channel:redbridge" in told(out, "case_resolved")
    closed = await service.execute(
        CloseCase(actor_id="sam", case_id=case_id, summary="Resolved at stage 3")
    )
    assert "channel:redbridge" in told(closed, "case_closed")  # copied before, so copied at closure


@pytest.mark.clause("RB-4.7", "RB-4.9")
async def test_stage_4_the_chair_recommends_and_agencies_respond(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_3(service, clock)
    clock.set("2026-12-08T16:00:00+00:00")  # Tuesday
    out = await service.execute(
        Escalate(actor_id="sam", case_id=case_id, reason="Heads of Service could not agree")
    )
    assert out.case.stage == "4"
    assert told(out, "stage_entered") == {"person:rb-chair"}
    assert told(out, "business_manager_copy") == {"channel:redbridge"}
    assert due(out, "4", "recommend") == datetime(2026, 12, 15, 17, 0, tzinfo=GMT)  # 5 WD
    assert status(out.case, "4", "referral") == ClockStatus.MET  # same WD, via the Business Manager

    await refused(
        service,
        RecordRecommendations(actor_id="rb-bm", case_id=case_id, recommendations=("x",)),
        RefusalCode.NOT_PERMITTED,
    )
    await refused(
        service,
        ConfirmOutcome(actor_id="rb-chair", case_id=case_id, outcome="x"),
        RefusalCode.INVALID_STATE,
    )
    await refused(
        service,
        RecordRecommendations(actor_id="rb-chair", case_id=case_id, recommendations=(" ",)),
        RefusalCode.INVALID_INPUT,
    )
    clock.set("2026-12-11T10:00:00+00:00")
    recs = await service.execute(
        RecordRecommendations(
            actor_id="rb-chair",
            case_id=case_id,
            recommendations=("Joint visit within 3 days", "Review the discharge protocol"),
        )
    )
    assert recs.case.recommendations is not None and recs.case.recommendations.binding is False
    assert status(recs.case, "4", "recommend") == ClockStatus.MET
    assert {"person:amara", "person:noah", "channel:redbridge"} <= told(
        recs, "recommendations_made"
    )

    await refused(
        service,
        RecordAgencyResponse(
            actor_id="noah", case_id=case_id, agency_id="redbridge-asc", response="accepted"
        ),
        RefusalCode.NOT_PERMITTED,
    )
    await refused(
        service,
        RecordAgencyResponse(
            actor_id="rb-chair", case_id=case_id, agency_id="redbridge-cvs", response="accepted"
        ),
        RefusalCode.INVALID_INPUT,
    )
    await refused(
        service,
        RecordAgencyResponse(
            actor_id="nadia", case_id=case_id, agency_id="nelft", response="not_accepted"
        ),
        RefusalCode.INVALID_INPUT,
    )  # a reason is needed
    await service.execute(
        RecordAgencyResponse(
            actor_id="sam", case_id=case_id, agency_id="redbridge-asc", response="accepted"
        )
    )
    out = await service.execute(
        RecordAgencyResponse(
            actor_id="nadia",
            case_id=case_id,
            agency_id="nelft",
            response="partly_accepted",
            detail="Visit agreed; protocol review next quarter",
        )
    )
    assert [(r.agency_id, r.response) for r in out.case.agency_responses] == [
        ("redbridge-asc", "accepted"),
        ("nelft", "partly_accepted"),
    ]
    await refused(
        service,
        RecordAgencyResponse(
            actor_id="nadia", case_id=case_id, agency_id="nelft", response="accepted"
        ),
        RefusalCode.INVALID_STATE,
    )
    await refused(
        service,
        Escalate(actor_id="rb-chair", case_id=case_id, reason="more"),
        RefusalCode.INVALID_STATE,
    )
    closed = await service.execute(
        CloseCase(
            actor_id="rb-chair",
            case_id=case_id,
            summary="Recommendations accepted",
            policy_gaps=("Discharge protocol silent on falls",),
        )
    )
    assert closed.case.closure is not None and closed.case.closure.policy_gaps == (
        "Discharge protocol silent on falls",
    )
    assert "channel:redbridge" in told(closed, "case_closed")


@pytest.mark.clause("RB-4.7")
async def test_a_significant_policy_issue_goes_straight_to_the_chair(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)
    out = await service.execute(
        Escalate(actor_id="nadia", case_id=case_id, reason="Protocols conflict", policy_issue=True)
    )
    assert out.case.stage == "4"
    assert out.case.stages[-1].policy_issue
    assert told(out, "business_manager_copy") == {"channel:redbridge"}


async def test_the_last_stage_cannot_be_escalated(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = await at_stage_2(service, clock)
    await service.execute(
        Escalate(actor_id="nadia", case_id=case_id, reason="Policy", policy_issue=True)
    )
    refusal = await refused(
        service,
        Escalate(actor_id="rb-chair", case_id=case_id, reason="more"),
        RefusalCode.INVALID_STATE,
    )
    assert "last stage" in refusal.reason
    await refused(
        service,
        Escalate(actor_id="rb-chair", case_id=case_id, reason="more", policy_issue=True),
        RefusalCode.NOT_PERMITTED if False else RefusalCode.INVALID_STATE,
    )


# -- a party who is not on Teams ----------------------------------------------------------------


@pytest.mark.clause("RB-4.3", "RB-4.4")
async def test_an_other_party_outside_teams_is_recorded_and_the_raiser_contacts_them(
    service: EscalationService, clock: FakeClock
) -> None:
    external = OtherParty(
        agency_id="met-police", name="DC Priya Shah", email="p.shah@example.police.uk"
    )
    out = await service.execute(redbridge_raise(other_party=external))
    assert out.case.receiver.person_id is None and out.case.receiver.name == "DC Priya Shah"
    [hand] = [n for n in out.notifications if n.kind == "contact_by_hand"]
    assert hand.recipient.key == "person:amara" and "DC Priya Shah" in hand.reason
    case_id = out.case.id
    await service.execute(
        discussion("amara", case_id, clock.now, "resolved", participants=("amara", "DC Priya Shah"))
    )
    # With nobody of the receiving side on Teams, the raiser records their written confirmation,
    # and the raiser's line manager approves it: nobody approves their own record.
    await service.execute(
        ConfirmOutcome(actor_id="amara", case_id=case_id, outcome="Police to visit")
    )
    await refused(
        service, ApproveOutcome(actor_id="amara", case_id=case_id), RefusalCode.NOT_PERMITTED
    )
    resolved = await service.execute(ApproveOutcome(actor_id="lena", case_id=case_id))
    assert resolved.case.status == CaseStatus.RESOLVED


# -- integrity of commands ----------------------------------------------------------------------


async def test_a_card_for_an_older_version_is_refused_as_stale(
    service: EscalationService, clock: FakeClock
) -> None:
    opened = await service.execute(redbridge_raise())
    case_id, version = opened.case.id, opened.case.version
    await service.execute(
        discussion("noah", case_id, clock.now, "not_resolved", expected_version=version)
    )
    refusal = await refused(
        service,
        Escalate(actor_id="amara", case_id=case_id, reason="x", expected_version=version),
        RefusalCode.STALE,
    )
    assert "changed since you saw it" in refusal.reason


async def test_a_clock_that_says_yesterday_changes_nothing(
    service: EscalationService, clock: FakeClock, repository: InMemoryCaseRepository
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    before = list(repository.events[case_id])
    clock.set("2026-11-30T10:00:00+00:00")
    await refused(service, discussion("noah", case_id, clock.now, "continuing"), RefusalCode.CLOCK)
    assert repository.events[case_id] == before


async def test_acting_on_an_unknown_case_is_refused(service: EscalationService) -> None:
    await refused(
        service,
        Escalate(actor_id="amara", case_id="RB-2026-NOPE", reason="x"),
        RefusalCode.NOT_FOUND,
    )
