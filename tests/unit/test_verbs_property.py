"""The verbs a card offers are the verbs the rules accept, in every state a case can reach.

Seeded random walks take cases of both boards through the policy (every command any person may
make, at random, with time moving on), and at every state check, for everyone in the directory and
a stranger, that the view offers a verb exactly when `decide` accepts a well-formed command for
it; that only a full view carries verbs; and that everyone the case's messages and nudges reach
has the whole case. The walks are seeded, so a failure names a state that can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

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
    CaseConferenceDetails,
    CloseCase,
    Command,
    ConfirmOutcome,
    ConvenePanel,
    DiscussionOutcome,
    Escalate,
    OtherParty,
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
from escalation.memory import InMemoryCaseRepository
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack
from escalation.rules import Context, decide
from escalation.service import EscalationService

from .builders import harrow_raise, redbridge_raise
from .conftest import FakeClock

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


def unseen_recipients(
    case: Case, pack: PolicyPack, directory: Directory, people: set[str]
) -> set[str]:
    access = CaseAccess(case, pack, directory)
    return {p for p in people if access.level(p) != ViewLevel.FULL}


def nudged(case: Case, pack: PolicyPack, directory: Directory, now: datetime) -> set[str]:
    """Everyone a sweep would nudge about the case over the next three weeks."""
    calendar = calendar_for(pack)
    people: set[str] = set()
    for day in range(22):
        for hour in (9, 13, 18):
            moment = (now + timedelta(days=day)).replace(hour=hour, minute=5)
            people |= {
                n.recipient_id for n in due_nudges(case, pack, directory, calendar, now=moment)
            }
    return people


def redbridge_with_more(redbridge: PolicyPack) -> PolicyPack:
    """Redbridge with what other boards' packs say: a milestone at stage 1 (recorded by the other
    professional), a notice to each agency's safeguarding lead when the case leaves stage 2, and
    reminders to the business manager while the case waits at stage 4."""
    data = redbridge.model_dump(mode="json", exclude_defaults=True)
    stages = {s["id"]: s for s in data["stages"]}
    stages["1"]["clocks"].append(
        {
            "id": "plan",
            "label": "Agree an action plan",
            "runs_from": "stage_entered",
            "until": "milestone",
            "milestone": {"button": "Action plan agreed", "recorded_by": [{"who": "receiver"}]},
            "timescales": [{"working_days": 2, "clauses": ["RB-4.4"]}],
        }
    )
    stages["2"]["on_leave"] = {
        "notify": [{"who": "agency_role", "roles": ["safeguarding_lead"]}],
        "clauses": ["RB-4.5"],
    }
    stages["4"]["reminders"] = {
        "every_working_days": 2,
        "to": [{"who": "board_role", "roles": ["business_manager"]}],
        "clauses": ["RB-4.9"],
    }
    return PolicyPack.model_validate(data)


STARTS: list[tuple[str, RaiseDisagreement]] = [
    ("redbridge+", redbridge_raise()),
    ("redbridge+", redbridge_raise(immediate_risk=True)),
    ("redbridge", redbridge_raise()),
    ("redbridge", redbridge_raise(immediate_risk=True)),
    (
        "redbridge",
        redbridge_raise(other_party=OtherParty(agency_id="met-police", name="DC Jones")),
    ),
    ("harrow", harrow_raise()),
    ("harrow", harrow_raise(track="threshold")),
    ("harrow", harrow_raise(resource_implications=True)),
    (
        "harrow",
        harrow_raise(immediate_risk=True, start_stage="3", start_reason="Fire risk this week"),
    ),
    (
        "harrow",
        harrow_raise(
            case_conference=CaseConferenceDetails(
                meeting="Case conference",
                meeting_date=datetime(2026, 11, 30).date(),
                dissent_minuted=True,
            )
        ),
    ),
]


async def walk(
    seed: int,
    start: RaiseDisagreement,
    pack: PolicyPack,
    directory: Directory,
    service: EscalationService,
    clock: FakeClock,
    steps: int,
) -> tuple[list[str], set[str], int]:
    """A random walk from `start`; the disagreements found, the verbs used, states checked."""
    rng = random.Random(seed)
    opened = await service.execute(start)
    case = opened.case
    told = {n.recipient.id for n in opened.notifications if n.recipient.kind == "person"}
    problems: list[str] = []
    used_verbs: set[str] = set()
    states = 0
    for _step in range(steps):
        wrong, used = disagreements(case, pack, directory, clock.now)
        states += 1
        problems += wrong
        missed = unseen_recipients(case, pack, directory, told)
        missed |= unseen_recipients(case, pack, directory, nudged(case, pack, directory, clock.now))
        problems += [
            f"{case.id} v{case.version}: {p} was told but has no full view" for p in missed
        ]
        used_verbs |= {verb for verb, _ in used}
        if not used:
            break
        weights = [3 if v in ONWARD else 1 for v, _ in used]
        verb, command = rng.choices(used, weights)[0]
        if verb == RECORD:  # vary the outcome, so walks resolve, escalate or go on talking
            view = case_view(case, pack, directory, now=clock.now, viewer_id=command.actor_id)
            outcome = rng.choice(OUTCOMES)
            command = dict(commands(case, view, command.actor_id, clock.now, outcome))[RECORD]
        try:
            outcome_ = await service.execute(command)
        except Refused as refusal:  # a record with another outcome may be refused: move on
            problems += [] if verb == RECORD else [f"{case.id}: {verb} refused: {refusal.reason}"]
            continue
        case = outcome_.case
        told |= {n.recipient.id for n in outcome_.notifications if n.recipient.kind == "person"}
        clock.now = clock.now + timedelta(hours=rng.choice((1, 3, 20, 50, 100)))
    return problems, used_verbs, states


SEEDS = range(3)


async def test_views_and_rules_agree_on_every_verb_along_random_walks(
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
    clock: FakeClock,
    make_service: Callable[..., EscalationService],
) -> None:
    packs = {"redbridge": redbridge, "harrow": harrow, "redbridge+": redbridge_with_more(redbridge)}
    problems: list[str] = []
    verbs: set[str] = set()
    states = 0
    for seed in SEEDS:
        for n, (board, start) in enumerate(STARTS):
            clock.set("2026-12-01T10:00:00+00:00")
            service = make_service(
                repository=InMemoryCaseRepository(), packs=PackRegistry([packs[board]])
            )
            found, used, checked = await walk(
                seed * 100 + n, start, packs[board], directory, service, clock, steps=12
            )
            problems += found
            verbs |= used
            states += checked
    assert problems == []
    # None of the checks is vacuous: many states, and every verb accepted somewhere.
    assert states > 120
    assert verbs == set(CASE_VERBS)
