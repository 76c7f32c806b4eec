"""Three more boards' published protocols, written as packs with no code change, each run as a
whole case through the service across its own nation's bank holidays:

* Lincolnshire (England), the LSAB's pack of the joint LSAB and LSCP protocol: steps, an
  acknowledgement "immediately", action plans as milestones, step 2 "within five working days of
  step 1", and a joint step 4 that copies the children's partnership;
* Cumbria Safeguarding Children Partnership (England): levels, the child, no timescales (the
  partnership's reminders), and a notice to the line managers on leaving level 1;
* South Ayrshire Child Protection Committee (Scotland): two stages, "as quickly as possible",
  Scotland's working days (St Andrew's Day, 2 January).

Every expected deadline was counted by hand on a calendar (weekday of each date checked) with
the nation's published bank holidays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalation.calendar import calendar_for
from escalation.case import Case, CaseStatus
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CloseCase,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RaiseDisagreement,
    RecordDiscussion,
    RecordMilestone,
    RecordRecommendations,
)
from escalation.directory import Directory, StaticDirectory
from escalation.errors import RefusalCode, Refused
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry, load_pack
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.cli import run_cli
from testkit.clocks import FakeClock
from testkit.people import person
from tests.unit.case_checks import at, dues, sent

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
TESTS = REPO / "tests"
PUBLISHED = ("lincolnshire", "cumbria", "south-ayrshire")


def reminded(case: Case, pack: PolicyPack, directory: Directory, iso: str) -> set[str]:
    """Whom a sweep at `iso` reminds that the case waits at a stage with no clock."""
    nudges = due_nudges(case, pack, directory, calendar_for(pack), now=at(iso))
    return {n.recipient_id for n in nudges if n.kind.value == "stage_reminder"}


def deadlines(board: str, stage: str, start: str) -> dict[str, str]:
    code, out, err = run_cli(
        "deadlines", "--policy", str(POLICIES / f"{board}.yaml"), "--stage", stage,
        "--from", start, "--json",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    return {row["clock"]: row["due"] for row in json.loads(out)}


@pytest.fixture
def build(
    make_service: Callable[..., EscalationService],
) -> Callable[[PolicyPack, Directory], EscalationService]:
    def service(pack: PolicyPack, directory: Directory) -> EscalationService:
        return make_service(packs=PackRegistry([pack]), directory=StaticDirectory(directory))

    return service


# -- the packs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("board", "summary"),
    [
        (
            "lincolnshire",
            "Lincolnshire Safeguarding Adults Board — 4 stages on 1 track(s), 5 clocks, 7 roles, "
            "8 clauses",
        ),
        (
            "cumbria",
            "Cumbria Safeguarding Children Partnership — 2 stages on 1 track(s), 0 clocks, "
            "5 roles, 4 clauses",
        ),
        (
            "south-ayrshire",
            "South Ayrshire Child Protection Committee — 2 stages on 1 track(s), 1 clocks, "
            "5 roles, 2 clauses",
        ),
    ],
)
def test_each_published_pack_passes_policy_check(board: str, summary: str) -> None:
    path = POLICIES / f"{board}.yaml"
    code, out, err = run_cli("policy", "check", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"ok: {path}: {summary}\n")


def cited_clauses(node: Any, key: str | None = None) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= cited_clauses(v, k)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and key in {
                "clauses",
                "copy_clauses",
                "policy_issue_clauses",
                "raise_clauses",
            }:
                found.add(item)
            else:
                found |= cited_clauses(item, key)
    return found


def cited_by_tests() -> set[str]:
    cited: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        for args in re.findall(r"mark\.clause\(([^)]*)\)", path.read_text(encoding="utf-8")):
            cited.update(re.findall(r"""["']([A-Z]{2,4}-[A-Za-z0-9.]+)["']""", args))
    return cited


@pytest.mark.parametrize("board", PUBLISHED)
def test_each_clause_is_cited_by_the_pack_and_by_a_test_and_names_its_source(board: str) -> None:
    data = yaml.safe_load((POLICIES / f"{board}.yaml").read_text(encoding="utf-8"))
    listed = {c["id"] for c in data["clauses"]}
    assert cited_clauses(data) == listed
    assert listed - cited_by_tests() == set()
    assert cites_only_listed(listed, board)
    # The source document and its date (or that it states none) are named.
    assert "undated" in data["source"]["title"] and "consulted" in data["source"]["title"]


def cites_only_listed(listed: set[str], board: str) -> bool:
    prefix = next(iter(listed)).split("-")[0] + "-"
    return {c for c in cited_by_tests() if c.startswith(prefix)} <= listed


def test_the_published_packs_are_distinct_boards_that_run_beside_the_others() -> None:
    registry = PackRegistry.from_directory(POLICIES)
    assert registry.board_ids() == sorted(["cumbria", "harrow", "lincolnshire", "redbridge",
                                            "south-ayrshire"])  # fmt: skip
    nations = {b: registry.get(b).calendar.nation for b in PUBLISHED}
    assert nations == {
        "lincolnshire": "England",
        "cumbria": "England",
        "south-ayrshire": "Scotland",
    }
    people = {b: registry.get(b).words.person for b in PUBLISHED}
    assert people == {"lincolnshire": "adult", "cumbria": "child", "south-ayrshire": "child"}


# -- Lincolnshire: steps, immediately, milestones, anchored, joint ------------------------------


@pytest.fixture(scope="module")
def lincolnshire() -> PolicyPack:
    return load_pack(POLICIES / "lincolnshire.yaml")


@pytest.fixture
def lincs_people() -> Directory:
    return Directory.of(
        [
            person("lia", "lincs-adult-care", "practitioner", manager="lmgr"),
            person("lmgr", "lincs-adult-care", "line_manager"),
            person("lsm", "lincs-adult-care", "senior_manager"),
            person("slo-ac", "lincs-adult-care", "senior_liaison_officer"),
            person("ned", "lincs-lpft", "practitioner", manager="nmgr"),
            person("nmgr", "lincs-lpft", "line_manager"),
            person("slo-lpft", "lincs-lpft", "senior_liaison_officer"),
            person("chair", "lincs-police", board=("lincolnshire:independent_chair",)),
            person("lbm", "lincs-adult-care", board=("lincolnshire:business_manager",)),
        ]
    )


@pytest.mark.parametrize(
    ("stage", "start", "expected"),
    [
        pytest.param(
            # Thu 24 Dec 2026: acknowledge within the hour; the action plan in 2 WD, skipping
            # Christmas Day and Monday 28 December (Boxing Day observed): Wed 30 December.
            "1",
            "2026-12-24T10:00:00+00:00",
            {
                "acknowledge": "2026-12-24T11:00:00+00:00",
                "action-plan": "2026-12-30T17:00:00+00:00",
            },
            id="step1-christmas",
        ),
        pytest.param(
            # Thu 31 Dec 2026 16:30: "immediately" is clock time, even at the end of the day.
            "3",
            "2026-12-31T16:30:00+00:00",
            {"contact": "2026-12-31T17:30:00+00:00", "action-plan": "2027-01-05T17:00:00+00:00"},
            id="step3-new-year",
        ),
    ],
)
@pytest.mark.clause("LN-1", "LN-3")
def test_lincolnshire_deadlines(stage: str, start: str, expected: dict[str, str]) -> None:
    assert deadlines("lincolnshire", stage, start) == expected


@pytest.mark.clause("LN-ov", "LN-pur", "LN-bg", "LN-pd", "LN-1", "LN-2", "LN-3", "LN-4")
async def test_a_lincolnshire_case_runs_through_all_four_steps_across_christmas(
    build: Callable[[PolicyPack, Directory], EscalationService],
    clock: FakeClock,
    lincolnshire: PolicyPack,
    lincs_people: Directory,
) -> None:
    service = build(lincolnshire, lincs_people)
    # Step 1, on Christmas Eve 2026 (a Thursday).
    clock.set("2026-12-24T10:00:00+00:00")
    raised = await service.execute(
        RaiseDisagreement(
            actor_id="lia",
            board_id="lincolnshire",
            other_party=OtherParty(agency_id="lincs-lpft", person_id="ned"),
            adult_reference="LCC-22071",
            category="actions-not-taken",
            disagreement_date=date(2026, 12, 23),
            issue="The agreed mental health review has not happened.",
            risk_to_adult="Self-neglect over the holiday.",
            nature_of_disagreement="Whether the review can wait until January.",
        )
    )
    case = raised.case
    assert (case.id, case.stage) == ("LN-2026-0001", "1")
    assert dues(case, "1") == {
        "acknowledge": ("2026-12-24T11:00:00+00:00", "running"),
        "action-plan": ("2026-12-30T17:00:00+00:00", "running"),
    }
    # The other professional acknowledges it on the case card, within the hour.
    clock.set("2026-12-24T10:20:00+00:00")
    with pytest.raises(Refused) as refused:
        await service.execute(
            RecordMilestone(actor_id="lia", case_id=case.id, clock_id="acknowledge")
        )
    assert refused.value.code == RefusalCode.NOT_PERMITTED
    acked = await service.execute(
        RecordMilestone(actor_id="ned", case_id=case.id, clock_id="acknowledge")
    )
    assert dues(acked.case, "1")["acknowledge"] == ("2026-12-24T11:00:00+00:00", "met")
    assert ("milestone_recorded", "person:lia") in sent(acked.notifications)

    # Tuesday 29 December: no agreement; step 2, the line managers.
    clock.set("2026-12-29T11:00:00+00:00")
    await service.execute(
        RecordDiscussion(
            actor_id="lia",
            case_id=case.id,
            held_at=at("2026-12-29T10:00:00+00:00"),
            participants=("lia", "ned"),
            summary="No agreement on the review date.",
            outcome="not_resolved",
            method="phone",
        )
    )
    await service.execute(ApproveRecord(actor_id="ned", case_id=case.id, record_id="R1"))
    clock.set("2026-12-29T14:00:00+00:00")
    to_two = await service.execute(Escalate(actor_id="lia", case_id=case.id, reason="No plan."))
    case = to_two.case
    assert case.stage == "2"
    assert dues(case, "1")["action-plan"] == ("2026-12-30T17:00:00+00:00", "ended")
    # "Within five working days of step 1": from Thursday 24 December, not from today. Tue 29,
    # Wed 30, Thu 31 December, (Fri 1 January), Mon 4, Tue 5 January.
    (discuss,) = [c for c in case.clocks if (c.stage, c.clock) == ("2", "managers-discuss")]
    assert (discuss.started_at, discuss.due) == (
        at("2026-12-24T10:00:00+00:00"),
        at("2027-01-05T17:00:00+00:00"),
    )
    assert {n.recipient.id for n in to_two.notifications if n.kind == "stage_entered"} == {
        "lmgr",
        "nmgr",
    }
    assert all("step 2" in n.reason for n in to_two.notifications if n.kind == "stage_entered")
    asked = await service.execute(
        AskSafeguardingLead(actor_id="lmgr", case_id=case.id, question="Can it wait?")
    )
    assert ("advice_requested", "person:lsm") in sent(asked.notifications)

    # Monday 4 January: the managers meet and cannot agree; step 3 at once.
    clock.set("2027-01-04T11:00:00+00:00")
    met = await service.execute(
        RecordDiscussion(
            actor_id="lmgr",
            case_id=case.id,
            held_at=at("2027-01-04T10:00:00+00:00"),
            participants=("lmgr", "nmgr"),
            summary="Managers could not agree.",
            outcome="not_resolved",
            method="teams call",
        )
    )
    assert dues(met.case, "2")["managers-discuss"] == ("2027-01-05T17:00:00+00:00", "met")
    clock.set("2027-01-04T11:30:00+00:00")
    to_three = await service.execute(
        Escalate(actor_id="nmgr", case_id=case.id, reason="Still no agreement.")
    )
    # The senior liaison officers are contacted "immediately" (within the hour of the failed
    # discussion), and put an action plan in place within 2 WD: Wednesday 6 January.
    assert dues(to_three.case, "3") == {
        "contact": ("2027-01-04T12:00:00+00:00", "met"),
        "action-plan": ("2027-01-06T17:00:00+00:00", "running"),
    }
    clock.set("2027-01-05T10:00:00+00:00")
    planned = await service.execute(
        RecordMilestone(
            actor_id="slo-lpft", case_id=case.id, clock_id="action-plan", note="Plan agreed."
        )
    )
    assert dues(planned.case, "3")["action-plan"] == ("2027-01-06T17:00:00+00:00", "met")

    # Step 4: urgent resolution, an independent chaired meeting, copied to both boards.
    clock.set("2027-01-06T10:00:00+00:00")
    to_four = await service.execute(
        Escalate(actor_id="slo-ac", case_id=case.id, reason="The plan has not held.")
    )
    case = to_four.case
    assert sent(to_four.notifications) >= {
        ("stage_entered", "person:chair"),
        ("business_manager_copy", "channel:lincolnshire"),
        ("business_manager_copy", "channel:lscp"),
    }
    # No timescale at step 4: a reminder every five working days to those acting there.
    assert [c.clock for c in case.clocks if c.stage == "4"] == ["_reminders"]
    assert reminded(case, lincolnshire, lincs_people, "2027-01-12T09:05:00+00:00") == set()
    assert reminded(case, lincolnshire, lincs_people, "2027-01-13T09:05:00+00:00") == {
        "chair",
        "lbm",
    }

    clock.set("2027-01-14T15:00:00+00:00")
    done = await service.execute(
        RecordRecommendations(
            actor_id="chair", case_id=case.id, recommendations=("Review by 21 January.",)
        )
    )
    assert done.case.status == CaseStatus.RESOLVED
    assert ("recommendations_made", "channel:lincolnshire") in sent(done.notifications)
    closed = await service.execute(
        CloseCase(actor_id="lia", case_id=case.id, summary="Reviewed.", debrief_offered=True)
    )
    assert closed.case.status == CaseStatus.CLOSED
    assert closed.case.closure is not None and closed.case.closure.debrief_offered is False
    assert [v.stage for v in closed.case.stages] == ["1", "2", "3", "4"]
    assert [(m.stage, m.clock) for m in closed.case.milestones] == [
        ("1", "acknowledge"),
        ("3", "action-plan"),
    ]


@pytest.mark.clause("LN-ov")
async def test_lincolnshire_sends_a_disagreement_with_ones_own_manager_inside_the_agency(
    build: Callable[[PolicyPack, Directory], EscalationService],
    clock: FakeClock,
    lincolnshire: PolicyPack,
    lincs_people: Directory,
) -> None:
    service = build(lincolnshire, lincs_people)
    clock.set("2026-12-01T10:00:00+00:00")
    with pytest.raises(Refused) as refused:
        await service.execute(
            RaiseDisagreement(
                actor_id="lia",
                board_id="lincolnshire",
                other_party=OtherParty(agency_id="lincs-adult-care", person_id="lmgr"),
                adult_reference="LCC-22071",
                category="other",
                disagreement_date=date(2026, 11, 30),
                issue="x",
                risk_to_adult="y",
                nature_of_disagreement="z",
            )
        )
    assert refused.value.code == RefusalCode.OWN_MANAGER
    assert "internal escalation protocol" in refused.value.reason


# -- Cumbria: levels, the child, no timescales, a notice on leaving level 1 --------------------


@pytest.fixture(scope="module")
def cumbria() -> PolicyPack:
    return load_pack(POLICIES / "cumbria.yaml")


@pytest.fixture
def cumbria_people() -> Directory:
    return Directory.of(
        [
            person("cara", "cumbria-childrens", "practitioner", manager="cmgr"),
            person("cmgr", "cumbria-childrens", "line_manager"),
            person("dp-c", "cumbria-childrens", "designated_professional"),
            person("pete", "cumbria-police", "practitioner", manager="pmgr"),
            person("pmgr", "cumbria-police", "line_manager"),
        ]
    )


@pytest.mark.clause("CU-intro", "CU-areas", "CU-L1", "CU-L2")
async def test_a_cumbria_case_is_reminded_over_easter_and_reported_to_line_managers(
    build: Callable[[PolicyPack, Directory], EscalationService],
    clock: FakeClock,
    cumbria: PolicyPack,
    cumbria_people: Directory,
) -> None:
    service = build(cumbria, cumbria_people)
    # Thursday 2 April 2026, before Easter.
    clock.set("2026-04-02T10:00:00+01:00")
    raised = await service.execute(
        RaiseDisagreement(
            actor_id="cara",
            board_id="cumbria",
            other_party=OtherParty(agency_id="cumbria-police", person_id="pete"),
            adult_reference="CSC-5512",
            category="cp-enquiry",
            disagreement_date=date(2026, 4, 1),
            issue="Police declined a joint visit.",
            risk_to_adult="Bruising seen at nursery.",
            nature_of_disagreement="Whether a section 47 enquiry is needed.",
        )
    )
    case = raised.case
    assert (case.id, case.stage) == ("CU-2026-0001", "1")
    assert ("stage_entered", "person:pete") in sent(raised.notifications)
    assert "The child" not in json.dumps([n.reason for n in raised.notifications])
    # No timescale at level 1: the partnership's reminder every 3 WD. Good Friday and Easter
    # Monday do not count: Tue 7, Wed 8, Thu 9 April.
    (reminders,) = case.clocks
    assert (reminders.clock, reminders.due) == ("_reminders", at("2026-04-09T17:00:00+01:00"))
    assert reminded(case, cumbria, cumbria_people, "2026-04-06T09:05:00+01:00") == set()
    assert reminded(case, cumbria, cumbria_people, "2026-04-08T09:05:00+01:00") == set()
    assert reminded(case, cumbria, cumbria_people, "2026-04-09T09:05:00+01:00") == {
        "cara",
        "pete",
    }

    clock.set("2026-04-09T11:00:00+01:00")
    await service.execute(
        RecordDiscussion(
            actor_id="pete",
            case_id=case.id,
            held_at=at("2026-04-09T10:00:00+01:00"),
            participants=("cara", "pete"),
            summary="No agreement on a joint visit.",
            outcome="not_resolved",
            method="phone",
        )
    )
    clock.set("2026-04-09T14:00:00+01:00")
    to_two = await service.execute(
        Escalate(actor_id="cara", case_id=case.id, reason="We could not agree.")
    )
    # "...their disagreement must be reported by them to their line managers."
    left = {n.recipient.id: n.reason for n in to_two.notifications if n.kind == "stage_left"}
    assert set(left) == {"cmgr", "pmgr"}
    assert left["cmgr"].startswith("The case has moved on from level 1 (Discussion and")
    assert dues(to_two.case, "1")["_reminders"][1] == "ended"
    asked = await service.execute(
        AskSafeguardingLead(actor_id="cmgr", case_id=case.id, question="Is this section 47?")
    )
    assert ("advice_requested", "person:dp-c") in sent(asked.notifications)

    clock.set("2026-04-15T10:00:00+01:00")
    with pytest.raises(Refused) as last:
        await service.execute(Escalate(actor_id="pmgr", case_id=case.id, reason="Further."))
    assert last.value.reason == (
        "Level 2 (The line managers) is the last level: it cannot be escalated further."
    )
    await service.execute(
        RecordDiscussion(
            actor_id="cmgr",
            case_id=case.id,
            held_at=at("2026-04-15T09:00:00+01:00"),
            participants=("cmgr", "pmgr"),
            summary="Joint visit agreed.",
            outcome="resolved",
            agreed_outcome="A joint visit today.",
            method="meeting",
        )
    )
    await service.execute(
        ConfirmOutcome(actor_id="pmgr", case_id=case.id, outcome="A joint visit today.")
    )
    resolved = await service.execute(ApproveOutcome(actor_id="cara", case_id=case.id))
    assert resolved.case.status == CaseStatus.RESOLVED
    closed = await service.execute(
        CloseCase(actor_id="cara", case_id=case.id, summary="Visit done.")
    )
    assert closed.case.status == CaseStatus.CLOSED
    assert not [n for n in closed.notifications if n.recipient.kind == "channel"]


# -- South Ayrshire: Scotland's working days ------------------------------------------------------


@pytest.fixture(scope="module")
def south_ayrshire() -> PolicyPack:
    return load_pack(POLICIES / "south-ayrshire.yaml")


@pytest.fixture
def ayrshire_people() -> Directory:
    return Directory.of(
        [
            person("isla", "sa-social-work", "practitioner", manager="iain"),
            person("iain", "sa-social-work", "line_manager"),
            person("sm-sw", "sa-social-work", "senior_manager"),
            person("ross", "sa-police", "practitioner", manager="rona"),
            person("rona", "sa-police", "line_manager"),
            person("sm-pol", "sa-police", "senior_manager"),
            person("lo", "sa-education", board=("south-ayrshire:lead_officer",)),
        ]
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # St Andrew's Day (Monday 30 November 2026) is not a working day in Scotland: the same
        # working day is the next one. (In England it would be Monday, 17:00.)
        ("2026-11-30T10:00:00+00:00", "2026-12-01T17:00:00+00:00"),
        # Saturday 2 January 2027's holiday is kept on Monday 4 January.
        ("2027-01-04T10:00:00+00:00", "2027-01-05T17:00:00+00:00"),
        ("2026-12-31T15:00:00+00:00", "2026-12-31T17:00:00+00:00"),
    ],
)
@pytest.mark.clause("SA-inter")
def test_south_ayrshire_counts_scotlands_working_days(start: str, expected: str) -> None:
    assert deadlines("south-ayrshire", "2", start) == {"referral": expected}


@pytest.mark.clause("SA-int", "SA-inter")
async def test_a_south_ayrshire_case_across_st_andrews_day_and_new_year(
    build: Callable[[PolicyPack, Directory], EscalationService],
    clock: FakeClock,
    south_ayrshire: PolicyPack,
    ayrshire_people: Directory,
) -> None:
    service = build(south_ayrshire, ayrshire_people)
    # An internal dispute is not for this procedure: alert the next line manager.
    clock.set("2026-11-27T09:00:00+00:00")
    with pytest.raises(Refused) as internal:
        await service.execute(
            RaiseDisagreement(
                actor_id="isla",
                board_id="south-ayrshire",
                other_party=OtherParty(agency_id="sa-social-work", person_id="iain"),
                adult_reference="SW-1001",
                category="how-to-proceed",
                disagreement_date=date(2026, 11, 26),
                issue="x",
                risk_to_adult="y",
                nature_of_disagreement="z",
            )
        )
    assert "alert the next line manager" in internal.value.reason

    # Friday 27 November 2026: a dispute with the police about how to proceed.
    clock.set("2026-11-27T10:00:00+00:00")
    raised = await service.execute(
        RaiseDisagreement(
            actor_id="isla",
            board_id="south-ayrshire",
            other_party=OtherParty(agency_id="sa-police", person_id="ross"),
            adult_reference="SW-1002",
            category="how-to-proceed",
            disagreement_date=date(2026, 11, 26),
            issue="Whether to hold an inter-agency referral discussion now.",
            risk_to_adult="Disclosure at school; the child goes home tonight.",
            nature_of_disagreement="Whether a joint interview is needed.",
        )
    )
    case = raised.case
    assert (case.id[:8], case.stage) == ("SA-2026-", "1")
    # "As quickly as possible": a reminder each working day. Monday 30 November is St Andrew's
    # Day: the first reminder is on Tuesday 1 December.
    (reminders,) = case.clocks
    assert reminders.due == at("2026-12-01T17:00:00+00:00")
    assert reminded(case, south_ayrshire, ayrshire_people, "2026-11-30T09:05:00+00:00") == set()
    assert reminded(case, south_ayrshire, ayrshire_people, "2026-12-01T09:05:00+00:00") == {
        "isla",
        "ross",
    }

    # Hogmanay: still unresolved; to the relevant senior managers, the same working day.
    clock.set("2026-12-31T14:00:00+00:00")
    await service.execute(
        RecordDiscussion(
            actor_id="isla",
            case_id=case.id,
            held_at=at("2026-12-31T13:00:00+00:00"),
            participants=("isla", "ross"),
            summary="Still no agreement.",
            outcome="not_resolved",
            method="phone",
        )
    )
    clock.set("2026-12-31T15:00:00+00:00")
    to_two = await service.execute(
        Escalate(actor_id="ross", case_id=case.id, reason="Unresolved between agencies.")
    )
    case = to_two.case
    assert dues(case, "2")["referral"] == ("2026-12-31T17:00:00+00:00", "met")
    assert {n.recipient.id for n in to_two.notifications if n.kind == "stage_entered"} == {
        "sm-sw",
        "sm-pol",
    }
    # The senior managers' stage has no clock of its own: daily reminders. Friday 1 January and
    # Monday 4 January (2 January's holiday) are not working days: Tuesday 5 January.
    (stage_two,) = [c for c in case.clocks if c.stage == "2" and c.clock == "_reminders"]
    assert stage_two.due == at("2027-01-05T17:00:00+00:00")
    assert reminded(case, south_ayrshire, ayrshire_people, "2027-01-04T09:05:00+00:00") == set()
    assert reminded(case, south_ayrshire, ayrshire_people, "2027-01-05T09:05:00+00:00") == {
        "sm-sw",
        "sm-pol",
    }

    clock.set("2027-01-05T11:00:00+00:00")
    await service.execute(
        RecordDiscussion(
            actor_id="sm-sw",
            case_id=case.id,
            held_at=at("2027-01-05T10:00:00+00:00"),
            participants=("sm-sw", "sm-pol"),
            summary="Joint interview agreed.",
            outcome="resolved",
            agreed_outcome="Joint interview tomorrow.",
            method="meeting",
        )
    )
    await service.execute(
        ConfirmOutcome(actor_id="sm-pol", case_id=case.id, outcome="Joint interview tomorrow.")
    )
    resolved = await service.execute(ApproveOutcome(actor_id="isla", case_id=case.id))
    assert resolved.case.status == CaseStatus.RESOLVED
    closed = await service.execute(
        CloseCase(actor_id="isla", case_id=case.id, summary="Interview held.")
    )
    assert closed.case.status == CaseStatus.CLOSED
    assert all(c.status.value != "running" for c in closed.case.clocks)
