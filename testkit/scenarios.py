"""Cases walked through the service, shared by the unit, report and tab tests.

`build_redbridge` and `build_harrow`: six cases built by hand, four at Redbridge, two at Harrow.

Redbridge (December 2026; Friday 25 and Monday 28 December are bank holidays):
  A  response-to-concerns, ASC v NELFT: agreed at stage 1 on Friday 4 Dec (3 WD); closed with
     one learning point and a debrief offered.
  B  eligibility, ASC v NELFT: stages 1 to 4 (1, 2, 2 and 3 WD at each), the Chair's two
     recommendations on Friday 11 Dec (8 WD), ASC accepts and NELFT partly accepts; closed
     with one policy gap, no debrief.
  C  response-to-concerns, ASC v the police (not on Teams): raised late on Tuesday 22 Dec (the
     raise clock is missed), agreed on Tuesday 29 Dec: 3 WD across Christmas; resolved, open.
  D  communication, ASC v NELFT, immediate risk: escalated the day after the failed discussion
     (the referral clock is missed); still open at stage 2.
Harrow:
  E  thresholds, council v CNWL: to the panel at once; panel on Thursday 3 Dec, decision on
     Monday 7 Dec (4 WD).
  F  information-sharing, council v CNWL: agreed on Wednesday 2 Dec (1 WD); closed with a
     learning point, a policy gap and a debrief.
"""

from __future__ import annotations

from datetime import date

from escalation.case import Case
from escalation.commands import (
    ApproveOutcome,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    OtherParty,
    RecordAgencyResponse,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
)
from escalation.service import EscalationService
from testkit.builders import discussion, harrow_raise, redbridge_raise
from testkit.clocks import FakeClock

# Free text and identifiers the cases hold, none of which may reach a report.
PRIVATE = (
    "ASC-104233",
    "ASC-777001",
    "LBH-55120",
    "amara",
    "Amara",
    "noah",
    "Noah",
    "nadia",
    "hana",
    "colin",
    "DC Priya Shah",
    "p.shah",
    "Community nursing",
    "falls",
    "pressure sores",
    "joint visit",
    "Joint visit",
    "GP letter",
    "Share falls logs early",
    "Discharge protocol silent on falls",
    "Referral reopened",
    "Threshold guidance unclear on hoarding",
    "No hoarding protocol",
    "hoarding",
    "section 42",
    "Fire risk is high",
    "Threshold not met",
    "Mental health team",
    "J.S.",
)


async def build_redbridge(service: EscalationService, clock: FakeClock) -> dict[str, str]:
    ids: dict[str, str] = {}
    # A: agreed at stage 1.
    clock.set("2026-12-01T10:00:00+00:00")
    a = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", a, clock.now, "resolved"))
    clock.set("2026-12-04T09:00:00+00:00")
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=a, outcome="Joint visit"))
    clock.set("2026-12-04T09:30:00+00:00")
    await service.execute(ApproveOutcome(actor_id="amara", case_id=a))
    clock.set("2026-12-07T10:00:00+00:00")
    await service.execute(
        CloseCase(
            actor_id="amara",
            case_id=a,
            summary="Resolved at stage 1 after a joint visit",
            learning_points=("Share falls logs early",),
            debrief_offered=True,
        )
    )
    ids["A"] = a

    # B: to the Chair.
    clock.set("2026-12-01T10:00:00+00:00")
    b = (await service.execute(redbridge_raise(category="eligibility"))).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", b, clock.now, "not_resolved"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(Escalate(actor_id="amara", case_id=b, reason="No agreement"))
    clock.set("2026-12-04T10:00:00+00:00")
    await service.execute(
        discussion("nadia", b, clock.now, "not_resolved", participants=("lena", "nadia"))
    )
    await service.execute(Escalate(actor_id="lena", case_id=b, reason="Managers disagree"))
    clock.set("2026-12-08T16:00:00+00:00")
    await service.execute(Escalate(actor_id="sam", case_id=b, reason="Heads disagree"))
    clock.set("2026-12-11T10:00:00+00:00")
    await service.execute(
        RecordRecommendations(
            actor_id="rb-chair",
            case_id=b,
            recommendations=("Joint visit within 3 days", "Review the discharge protocol"),
        )
    )
    clock.set("2026-12-14T10:00:00+00:00")
    await service.execute(
        RecordAgencyResponse(
            actor_id="sam", case_id=b, agency_id="redbridge-asc", response="accepted"
        )
    )
    await service.execute(
        RecordAgencyResponse(
            actor_id="nadia",
            case_id=b,
            agency_id="nelft",
            response="partly_accepted",
            detail="Joint visit agreed; protocol review later",
        )
    )
    clock.set("2026-12-15T10:00:00+00:00")
    await service.execute(
        CloseCase(
            actor_id="rb-chair",
            case_id=b,
            summary="Recommendations accepted in part",
            policy_gaps=("Discharge protocol silent on falls",),
        )
    )
    ids["B"] = b

    # C: raised late, agreed across Christmas, resolved (not closed).
    clock.set("2026-12-22T10:00:00+00:00")
    police = OtherParty(agency_id="met-police", name="DC Priya Shah", email="p.shah@example.org")
    c = (
        await service.execute(
            redbridge_raise(
                other_party=police,
                adult_reference="ASC-777001",
                disagreement_date=date(2026, 12, 17),
            )
        )
    ).case.id
    clock.set("2026-12-29T10:00:00+00:00")
    await service.execute(
        discussion("amara", c, clock.now, "resolved", participants=("amara", "DC Priya Shah"))
    )
    clock.set("2026-12-29T11:00:00+00:00")
    await service.execute(ConfirmOutcome(actor_id="amara", case_id=c, outcome="Police visit"))
    clock.set("2026-12-29T12:00:00+00:00")
    await service.execute(ApproveOutcome(actor_id="lena", case_id=c))
    ids["C"] = c

    # D: immediate risk; escalated a day late; open at stage 2.
    clock.set("2026-12-01T10:00:00+00:00")
    d = (
        await service.execute(redbridge_raise(category="communication", immediate_risk=True))
    ).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", d, clock.now, "not_resolved"))
    clock.set("2026-12-03T09:00:00+00:00")
    await service.execute(Escalate(actor_id="noah", case_id=d, reason="No agreement"))
    ids["D"] = d
    return ids


async def build_harrow(service: EscalationService, clock: FakeClock) -> dict[str, str]:
    people = ("hana", "colin")
    clock.set("2026-12-01T10:00:00+00:00")
    e = await harrow_before_the_panel(service, clock)
    clock.set("2026-12-07T10:00:00+00:00")
    await service.execute(
        RecordPanelDecision(actor_id="hssp", case_id=e, decision="A section 42 enquiry opens")
    )

    clock.set("2026-12-01T10:00:00+00:00")
    f = (await service.execute(harrow_raise(category="information-sharing"))).case.id
    clock.set("2026-12-02T10:00:00+00:00")
    await service.execute(discussion("hana", f, clock.now, "resolved", participants=people))
    await service.execute(ConfirmOutcome(actor_id="colin", case_id=f, outcome="Referral reopened"))
    await service.execute(ApproveOutcome(actor_id="hana", case_id=f))
    clock.set("2026-12-03T10:00:00+00:00")
    await service.execute(
        CloseCase(
            actor_id="hana",
            case_id=f,
            summary="Resolved at stage 1",
            learning_points=("Threshold guidance unclear on hoarding",),
            policy_gaps=("No hoarding protocol",),
            debrief_offered=True,
        )
    )
    return {"E": e, "F": f}


# -- a case at a stage, for the tests of what each stage shows and allows ----------------------

HARROW_PEOPLE = ("hana", "colin")


async def at_stage_2(service: EscalationService, clock: FakeClock) -> str:
    opened = await service.execute(redbridge_raise())
    case_id = opened.case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(
        Escalate(actor_id="amara", case_id=case_id, reason="No agreement at stage 1")
    )
    return case_id


async def at_stage_3(service: EscalationService, clock: FakeClock) -> str:
    case_id = await at_stage_2(service, clock)
    clock.set("2026-12-04T10:00:00+00:00")
    await service.execute(
        discussion("nadia", case_id, clock.now, "not_resolved", participants=("lena", "nadia"))
    )
    await service.execute(
        Escalate(actor_id="lena", case_id=case_id, reason="Managers could not agree")
    )
    return case_id


async def harrow_at_stage(service: EscalationService, clock: FakeClock, stage: str) -> str:
    case_id = (await service.execute(harrow_raise())).case.id
    path = ["1", "2", "3", "4"]
    movers = {"1": "hana", "2": "harry", "3": "hbm"}
    for current in path[: path.index(stage)]:
        await service.execute(
            discussion(
                movers[current], case_id, clock.now, "not_resolved", participants=HARROW_PEOPLE
            )
        )
        await service.execute(
            Escalate(
                actor_id=movers[current],
                case_id=case_id,
                reason="Not resolved",
                aim="An enquiry",
                evidence="Fire report",
                evidence_source="LFB visit 20 Nov",
            )
        )
    return case_id


async def harrow_resolved(service: EscalationService, clock: FakeClock) -> Case:
    case_id = (await service.execute(harrow_raise())).case.id
    await service.execute(
        discussion("hana", case_id, clock.now, "resolved", participants=("hana", "colin"))
    )
    await service.execute(ConfirmOutcome(actor_id="colin", case_id=case_id, outcome="Reopened"))
    return (await service.execute(ApproveOutcome(actor_id="hana", case_id=case_id))).case


async def redbridge_recommended(service: EscalationService, clock: FakeClock) -> Case:
    case_id = await at_stage_3(service, clock)
    clock.set("2026-12-08T16:00:00+00:00")
    await service.execute(Escalate(actor_id="sam", case_id=case_id, reason="No agreement"))
    clock.set("2026-12-11T10:00:00+00:00")
    recommendations = ("Joint visit within 3 days", "Review the discharge protocol")
    command = RecordRecommendations(
        actor_id="rb-chair", case_id=case_id, recommendations=recommendations
    )
    return (await service.execute(command)).case


async def harrow_before_the_panel(service: EscalationService, clock: FakeClock) -> str:
    """A Harrow case taken to the resolution panel (stage 4), the panel convened on Thursday
    3 December and both agencies heard; the panel has not decided."""
    case_id = await harrow_at_stage(service, clock, "4")
    clock.set("2026-12-03T10:00:00+00:00")
    await service.execute(
        ConvenePanel(
            actor_id="hssp", case_id=case_id, agency_ids=("met-police", "lfb", "probation")
        )
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
    return case_id


async def harrow_panel(service: EscalationService, clock: FakeClock) -> Case:
    case_id = await harrow_at_stage(service, clock, "4")
    agencies = ("met-police", "lfb", "probation")
    command = ConvenePanel(actor_id="hssp", case_id=case_id, agency_ids=agencies)
    return (await service.execute(command)).case
