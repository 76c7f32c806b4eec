"""Where a case's view and the core's rules disagree: every verb the view offers each person is
one the rules accept, and no other. The random-walk property test and the view tests ask it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from cards.views import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    CaseView,
    case_view,
)
from escalation.access import CaseAccess, ViewLevel
from escalation.calendar import calendar_for
from escalation.case import Case, ClockStatus
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CloseCase,
    Command,
    ConfirmOutcome,
    ConvenePanel,
    DiscussionOutcome,
    Escalate,
    RaiseDisagreement,
    RecordAgencyResponse,
    RecordDiscussion,
    RecordMilestone,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.errors import Refused
from escalation.policy import PolicyPack
from escalation.rules import Context, decide

OUTCOMES: tuple[DiscussionOutcome, ...] = ("resolved", "not_resolved", "continuing")
# Verbs that take a case on: chosen more often, so walks reach the later stages.
ONWARD = frozenset({ESCALATE, RECOMMEND, CONVENE_PANEL, REPRESENT, DECIDE, RESPOND})


def commands(
    case: Case,
    view: CaseView,
    actor: str,
    now: datetime,
    outcome: DiscussionOutcome = "continuing",
) -> Iterator[tuple[str, Command]]:
    """One well-formed command per verb (per record awaiting approval, per agency)."""
    cid = case.id
    yield (
        RECORD,
        RecordDiscussion(
            actor_id=actor,
            case_id=cid,
            held_at=now,
            participants=("a", "b"),
            summary="Talked it through.",
            outcome=outcome,
            points_of_difference="Timing.",
            basis_of_decision="Risk.",
            agreed_outcome="A joint visit." if outcome == "resolved" else "",
        ),
    )
    for record in case.records:
        if not record.approved:
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
    for clock in running:  # a milestone per running clock: only a milestone's may be recorded
        yield (
            f"{MILESTONE}:{clock.clock}",
            RecordMilestone(actor_id=actor, case_id=cid, clock_id=clock.clock, note="Done."),
        )
    yield ASK_LEAD, AskSafeguardingLead(actor_id=actor, case_id=cid, question="What now?")
    yield CONFIRM_OUTCOME, ConfirmOutcome(actor_id=actor, case_id=cid, outcome="Agreed.")
    yield APPROVE_OUTCOME, ApproveOutcome(actor_id=actor, case_id=cid)
    yield RECOMMEND, RecordRecommendations(actor_id=actor, case_id=cid, recommendations=("Do it.",))
    candidates = view.panel_candidates or ()
    yield (
        CONVENE_PANEL,
        ConvenePanel(
            actor_id=actor,
            case_id=cid,
            agency_ids=tuple(a.id for a in candidates[: max(view.panel_min_agencies, 1)])
            or ("met-police", "lfb", "probation"),
        ),
    )
    yield DECIDE, RecordPanelDecision(actor_id=actor, case_id=cid, decision="Decided.")
    # Speaking or responding for an agency: one command per agency, a party's or not, so that
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
    if verb == MILESTONE:
        return view.may(verb) and target in {c.clock for c in view.milestone_choices}
    return view.may(key)


def accepted(case: Case, command: Command, ctx: Context) -> bool:
    assert not isinstance(command, RaiseDisagreement), "a raise makes a case, it acts on none"
    try:
        decide(case, command, ctx)
    except Refused:
        return False
    return True


def viewers(pack: PolicyPack, directory: Directory) -> list[str]:
    """The board's people (its agencies' staff and its board roles), someone with a role on
    another board, and a stranger."""
    board = pack.board.id
    mine = [
        p.id
        for p in directory.people.values()
        if pack.agency(p.agency_id) is not None or any(b == board for b, _ in p.board_roles)
    ]
    elsewhere = [p.id for p in directory.people.values() if p.board_roles and p.id not in mine]
    return [*mine, *elsewhere[:1], "stranger"]


def disagreements(
    case: Case, pack: PolicyPack, directory: Directory, now: datetime
) -> tuple[list[str], list[tuple[str, Command]]]:
    """Where the view and the rules differ; and every command the rules accept."""
    ctx = Context(pack, calendar_for(pack), directory, now)
    access = CaseAccess(case, pack, directory)
    wrong: list[str] = []
    used: list[tuple[str, Command]] = []
    for person in viewers(pack, directory):
        view = case_view(case, pack, directory, now=now, viewer_id=person)
        level = access.level(person)
        if view.level != level:
            wrong.append(f"{case.id}: {person} view {view.level} but access {level}")
        if view.verbs and level != ViewLevel.FULL:
            wrong.append(f"{case.id}: {person} has verbs {sorted(view.verbs)} at {level}")
        for key, command in commands(case, view, person, now):
            shown, ok = offered(view, key), accepted(case, command, ctx)
            if shown != ok:
                wrong.append(
                    f"{case.id} stage {case.stage} v{case.version}: {person} {key}: "
                    f"shown={shown} rules={ok}"
                )
            if ok:
                used.append((key.split(":")[0], command))
    return wrong, used
