"""The case view: a button is offered exactly when the rules would accept the click.

The rules (escalation.rules) are the authority; the view decides which buttons to show. These
tests run every verb of every person in the directory against `decide` on cases at every stage of
both boards, and require the view to offer the verb exactly when `decide` accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cards.views import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CASE_VERBS,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    RECOMMEND,
    RECORD,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    CaseView,
    case_view,
)
from escalation.case import Case, ClockStatus
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CaseCommand,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    OtherParty,
    RecordAgencyResponse,
    RecordDiscussion,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.errors import Refused
from escalation.policy import PolicyPack
from escalation.rules import Context, calendar_for, decide
from escalation.service import EscalationService

from .builders import discussion, harrow_raise, redbridge_raise
from .conftest import FakeClock
from .test_case_harrow import harrow_at_stage
from .test_case_redbridge import at_stage_2, at_stage_3


def commands(
    case: Case, view: CaseView, actor: str, now: datetime
) -> Iterator[tuple[str, CaseCommand]]:
    """One well-formed command per verb (and per record awaiting approval)."""
    cid = case.id
    yield (
        RECORD,
        RecordDiscussion(
            actor_id=actor,
            case_id=cid,
            held_at=now,
            participants=("a", "b"),
            summary="Talked it through.",
            outcome="continuing",
            points_of_difference="Timing.",
            basis_of_decision="Risk.",
        ),
    )
    for record in view.records_awaiting_approval:
        yield (
            f"{APPROVE_RECORD}:{record.id}",
            ApproveRecord(actor_id=actor, case_id=cid, record_id=record.id),
        )
    yield (
        ESCALATE,
        Escalate(
            actor_id=actor,
            case_id=cid,
            reason="Not resolved.",
            aim="An enquiry.",
            evidence="A report.",
            evidence_source="A visit.",
        ),
    )
    running = [c for c in case.clocks_of_stage(case.stage) if c.status == ClockStatus.RUNNING]
    ahead = [c for c in running if c.protective and c.effective_due > now]
    if ahead or running:
        target = (ahead or running)[0]
        yield (
            SET_DEADLINE,
            SetProtectiveDeadline(
                actor_id=actor,
                case_id=cid,
                clock_id=target.clock,
                due=max(now + (target.effective_due - now) / 2, now + timedelta(seconds=1)),
                reason="Protects the adult.",
            ),
        )
    yield ASK_LEAD, AskSafeguardingLead(actor_id=actor, case_id=cid, question="What now?")
    yield CONFIRM_OUTCOME, ConfirmOutcome(actor_id=actor, case_id=cid, outcome="Agreed.")
    yield APPROVE_OUTCOME, ApproveOutcome(actor_id=actor, case_id=cid)
    yield RECOMMEND, RecordRecommendations(actor_id=actor, case_id=cid, recommendations=("Do it.",))
    yield (
        CONVENE_PANEL,
        ConvenePanel(
            actor_id=actor,
            case_id=cid,
            agency_ids=tuple(
                a.id for a in view.panel_candidates[: max(view.panel_min_agencies, 1)]
            ),
        ),
    )
    yield DECIDE, RecordPanelDecision(actor_id=actor, case_id=cid, decision="Decided.")
    # Speaking or responding for an agency: one command per agency, whether a party or not, so
    # the form's agency choices are checked as well as the button.
    for agency_id in [*sorted(case.party_agencies), "redbridge-cvs", "met-police"]:
        yield (
            f"{REPRESENT}:{agency_id}",
            RecordRepresentation(
                actor_id=actor, case_id=cid, agency_id=agency_id, summary="Our view."
            ),
        )
        yield (
            f"{RESPOND}:{agency_id}",
            RecordAgencyResponse(
                actor_id=actor,
                case_id=cid,
                agency_id=agency_id,
                response="partly_accepted",
                detail="The visit, not the review.",
            ),
        )
    yield (
        CLOSE,
        CloseCase(
            actor_id=actor,
            case_id=cid,
            summary="Resolved.",
            learning_points=("Share the falls log sooner.",),
            policy_gaps=("No joint-visit protocol.",),
            debrief_offered=True,
        ),
    )


def offered(view: CaseView, key: str) -> bool:
    verb, _, target = key.partition(":")
    if verb == APPROVE_RECORD:
        return any(r.id == target and r.approvable for r in view.records_awaiting_approval)
    if verb == REPRESENT:
        return view.may(verb) and target in {a.id for a in view.represent_agencies}
    if verb == RESPOND:
        mine = view.respond_agency
        return view.may(verb) and mine is not None and mine.id == target
    return view.may(key)


def accepted(case: Case, command: CaseCommand, ctx: Context) -> bool:
    try:
        decide(case, command, ctx)
    except Refused:
        return False
    return True


def disagreements(
    case: Case, pack: PolicyPack, directory: Directory, now: datetime
) -> tuple[list[str], list[str]]:
    ctx = Context(pack, calendar_for(pack), directory, now)
    wrong: list[str] = []
    used: list[str] = []
    for person in [*directory.people, "stranger"]:
        view = case_view(case, pack, directory, now=now, viewer_id=person)
        for key, command in commands(case, view, person, now):
            shown, ok = offered(view, key), accepted(case, command, ctx)
            if shown != ok:
                wrong.append(
                    f"{case.id} stage {case.stage}: {person} {key}: shown={shown} rules={ok}"
                )
            if ok:
                used.append(key.split(":")[0])
    return wrong, used


async def test_the_buttons_match_the_rules_for_everyone_at_every_stage(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    cases: list[tuple[Case, PolicyPack]] = []
    # Redbridge: stage 1 fresh, with a record, agreed, confirmed, approved (resolved); stages 2,
    # 3 and 4, the Chair's recommendations and an agency's response.
    fresh = (await service.execute(redbridge_raise())).case
    cases.append((fresh, redbridge))
    clock.set("2026-12-01T11:00:00+00:00")
    recorded = (await service.execute(discussion("amara", fresh.id, clock.now, "continuing"))).case
    cases.append((recorded, redbridge))
    agreed = (await service.execute(discussion("noah", fresh.id, clock.now, "resolved"))).case
    cases.append((agreed, redbridge))
    confirmed = (
        await service.execute(ConfirmOutcome(actor_id="noah", case_id=fresh.id, outcome="Agreed"))
    ).case
    cases.append((confirmed, redbridge))
    # Approved: the case is resolved, and those who acted or are parties may close it.
    resolved = (await service.execute(ApproveOutcome(actor_id="amara", case_id=fresh.id))).case
    cases.append((resolved, redbridge))
    immediate = (await service.execute(redbridge_raise(immediate_risk=True))).case
    cases.append((immediate, redbridge))
    # The other professional is not on Teams: the raiser records and confirms for both sides.
    off_teams = (
        await service.execute(
            redbridge_raise(other_party=OtherParty(agency_id="met-police", name="DC Jones"))
        )
    ).case
    agreed_off = (
        await service.execute(discussion("amara", off_teams.id, clock.now, "resolved"))
    ).case
    cases.append((agreed_off, redbridge))
    confirmed_off = (
        await service.execute(
            ConfirmOutcome(actor_id="amara", case_id=off_teams.id, outcome="Agreed by phone")
        )
    ).case
    cases.append((confirmed_off, redbridge))
    clock.set("2026-12-01T10:00:00+00:00")
    stage_2 = await service.case(await at_stage_2(service, clock))
    cases.append((stage_2, redbridge))
    clock.set("2026-12-01T10:00:00+00:00")
    stage_3_id = await at_stage_3(service, clock)
    cases.append((await service.case(stage_3_id), redbridge))
    stage_4 = (
        await service.execute(Escalate(actor_id="sam", case_id=stage_3_id, reason="Unresolved"))
    ).case
    assert stage_4.stage == "4"
    cases.append((stage_4, redbridge))
    # The Chair recommends (the case is resolved); each party agency responds once (RB-4.9).
    recommended = (
        await service.execute(
            RecordRecommendations(
                actor_id="rb-chair",
                case_id=stage_3_id,
                recommendations=("Joint visit within 3 days", "Review the discharge protocol"),
            )
        )
    ).case
    cases.append((recommended, redbridge))
    answered = (
        await service.execute(
            RecordAgencyResponse(
                actor_id="sam", case_id=stage_3_id, agency_id="redbridge-asc", response="accepted"
            )
        )
    ).case
    cases.append((answered, redbridge))
    # Harrow: stages 1 to 4, the panel convened, heard and decided, and the threshold track.
    for stage in ("1", "2", "3", "4"):
        cases.append((await service.case(await harrow_at_stage(service, clock, stage)), harrow))
    panel_id = cases[-1][0].id
    await service.execute(
        ConvenePanel(
            actor_id="hssp", case_id=panel_id, agency_ids=("met-police", "lfb", "probation")
        )
    )
    cases.append((await service.case(panel_id), harrow))
    heard = (
        await service.execute(
            RecordRepresentation(
                actor_id="colin", case_id=panel_id, agency_id="cnwl", summary="Not met"
            )
        )
    ).case
    cases.append((heard, harrow))
    # A stage actor speaks for the other agency; then the panel decides (the case is resolved).
    heard_both = (
        await service.execute(
            RecordRepresentation(
                actor_id="hssp", case_id=panel_id, agency_id="harrow-council", summary="Fire risk"
            )
        )
    ).case
    cases.append((heard_both, harrow))
    decided = (
        await service.execute(
            RecordPanelDecision(actor_id="hssp", case_id=panel_id, decision="An enquiry opens")
        )
    ).case
    cases.append((decided, harrow))
    threshold = (await service.execute(harrow_raise(track="threshold"))).case
    cases.append((threshold, harrow))
    resources = (await service.execute(harrow_raise(resource_implications=True))).case
    cases.append((resources, harrow))

    used: list[str] = []
    for case, pack in cases:
        wrong, seen = disagreements(case, pack, directory, clock.now)
        assert wrong == []
        used += seen
    # Every verb was offered (and accepted) somewhere: none of the checks above is vacuous.
    assert set(used) == set(CASE_VERBS)
    assert len(cases) == 23 and len(used) > 150


async def test_nothing_is_offered_on_a_closed_case(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Agreed"))
    await service.execute(ApproveOutcome(actor_id="amara", case_id=case_id))
    resolved = await service.case(case_id)
    # A resolved case still lets the other party approve the record, and close it; nothing else.
    noah = case_view(resolved, redbridge, directory, now=clock.now, viewer_id="noah")
    assert noah.verbs == {APPROVE_RECORD, CLOSE} and not noah.outcome_awaiting_approval
    closed = (
        await service.execute(CloseCase(actor_id="amara", case_id=case_id, summary="Done"))
    ).case
    for person in ("amara", "noah", "lena"):
        view = case_view(closed, redbridge, directory, now=clock.now, viewer_id=person)
        assert view.verbs == frozenset() and view.status == "closed"
    wrong, _ = disagreements(closed, redbridge, directory, clock.now)
    assert wrong == []


@pytest.mark.clause("RB-4.5")
async def test_ask_lead_is_not_offered_when_nobody_holds_the_adviser_role(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    assert case_view(case, redbridge, directory, now=clock.now, viewer_id="lena").may(ASK_LEAD)
    no_leads = Directory.of(
        p for p in directory.people.values() if "safeguarding_lead" not in p.roles
    )
    view = case_view(case, redbridge, no_leads, now=clock.now, viewer_id="lena")
    assert not view.may(ASK_LEAD) and view.may(ESCALATE)
    wrong, _ = disagreements(case, redbridge, no_leads, clock.now)
    assert wrong == []


async def test_the_view_describes_the_case_for_the_card(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (
        await service.execute(
            redbridge_raise(
                other_party=OtherParty(agency_id="met-police", name="DC Jones"),
                adult_initials="QZX",
            )
        )
    ).case
    view = case_view(case, redbridge, directory, now=clock.now, viewer_id="amara")
    assert (view.case_id, view.version, view.board_short_name) == (case.id, case.version, "RSAB")
    assert (view.stage.id, view.stage.name) == ("1", "Practitioner to practitioner")
    assert view.category == "An agency's response to safeguarding concerns or a safeguarding plan"
    assert [p.describe for p in view.parties] == [
        "Amara, London Borough of Redbridge Adult Social Care",
        "DC Jones, Metropolitan Police Service (not on Teams)",
    ]
    assert view.adult_reference == "ASC-104233" and "QZX" not in repr(view)
    assert [c.clock for c in view.clocks] == ["raise", "respond", "resolve"]
    assert view.next_due is not None and view.next_due.clock == "respond"
    assert view.escalates_to is not None and view.escalates_to.id == "2"
    assert view.policy_issue_stage is not None and view.policy_issue_stage.id == "4"
    assert view.timezone == "Europe/London" and view.today.isoformat() == "2026-12-01"
    assert view.agencies == (
        "London Borough of Redbridge Adult Social Care",
        "Metropolitan Police Service",
    )


def test_the_view_needs_an_aware_time(redbridge: PolicyPack, directory: Directory) -> None:
    from escalation.case import Party

    party = Party("raiser", "redbridge-asc", "amara", "Amara")
    case = Case(
        id="RB-1",
        board_id="redbridge",
        track="main",
        raised_at=datetime(2026, 12, 1, tzinfo=UTC),
        raised_by="amara",
        raiser=party,
        receiver=Party("receiver", "nelft", "noah", "Noah"),
        adult_reference="A1",
        adult_initials=None,
        category="other",
        disagreement_date=datetime(2026, 12, 1).date(),
        immediate_risk=False,
        details={},
        child_concern=False,
        resource_implications=False,
        case_conference=None,
        stage="1",
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        case_view(case, redbridge, directory, now=datetime(2026, 12, 1), viewer_id="amara")
    view = case_view(
        case, redbridge, directory, now=datetime(2026, 12, 1, tzinfo=UTC), viewer_id=None
    )
    assert view.verbs == frozenset() and view.risk_to_adult == "" and view.next_due is None
