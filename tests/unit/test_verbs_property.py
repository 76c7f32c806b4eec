"""The verbs a card offers are the verbs the rules accept, in every state a case can reach.

Seeded random walks take cases of both boards through the policy (every command any person may
make, at random, with time moving on), and at every state check, for everyone in the directory and
a stranger, that the view offers a verb exactly when `decide` accepts a well-formed command for
it; that only a full view carries verbs; and that everyone the case's messages and nudges reach
has the whole case. The walks are seeded, so a failure names a state that can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from cards.views import (
    CASE_VERBS,
    RECORD,
    case_view,
)
from escalation.access import CaseAccess, ViewLevel
from escalation.calendar import calendar_for
from escalation.case import Case
from escalation.commands import (
    CaseConferenceDetails,
    OtherParty,
    RaiseDisagreement,
)
from escalation.directory import Directory
from escalation.errors import Refused
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from tests.unit.verb_checks import ONWARD, OUTCOMES, commands, disagreements


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
