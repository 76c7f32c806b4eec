"""A third, fictional board (tests/fixtures/packs/thornbury.yaml) runs with no code change.

Thornbury differs from the shipped packs: three stages, roles neither real pack has
(`designated_lead`, `executive_lead`), a working day ending at 16:30, text and flowchart
disagreeing (3 WD vs 4 WD at stage 2), 10 WD recommendations, and immediate risk letting the
raiser choose the starting stage. Expected deadlines were counted by hand on a calendar.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml

from escalation.case import CaseStatus, ClockStatus
from escalation.commands import (
    ApproveRecord,
    CloseCase,
    Escalate,
    OtherParty,
    RaiseDisagreement,
    RecordDiscussion,
    RecordRecommendations,
)
from escalation.directory import Directory, StaticDirectory
from escalation.errors import RefusalCode, Refused
from escalation.packs import POLICY_DIR_ENV, PackRegistry, load_pack, parse_pack
from escalation.policy import PolicyPack, StageOutcome
from escalation.service import EscalationService
from testkit.builders import thornbury_raise
from testkit.cli import run_cli
from testkit.clocks import FakeClock
from testkit.people import person
from tests.unit.case_checks import at, dues, sent

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"
THORNBURY = FIXTURE_PACKS / "thornbury.yaml"
POLICIES = REPO / "policies"

CASE_ID = "TB-2026-0001"


@pytest.fixture(scope="module")
def thornbury() -> PolicyPack:
    return load_pack(THORNBURY)


@pytest.fixture
def thornbury_directory() -> Directory:
    return Directory.of(
        [
            person("tara", "thornbury-council", "practitioner", manager="tom"),
            person("tom", "thornbury-council", "line_manager"),
            person("dl-council", "thornbury-council", "designated_lead"),
            person("hugo", "thornbury-health", "practitioner", manager="hattie"),
            person("hattie", "thornbury-health", "line_manager"),
            person("dl-health", "thornbury-health", "designated_lead"),
            person("dl-police", "thornbury-police", "designated_lead"),
            person("eve", "thornbury-police", board=("thornbury:executive_lead",)),
        ]
    )


@pytest.fixture
def tb_service(
    make_service: Callable[..., EscalationService],
    thornbury: PolicyPack,
    thornbury_directory: Directory,
) -> EscalationService:
    return make_service(
        packs=PackRegistry([thornbury]), directory=StaticDirectory(thornbury_directory)
    )


# -- the pack ----------------------------------------------------------------------------------


def test_policy_check_accepts_the_third_board() -> None:
    code, out, err = run_cli("policy", "check", str(THORNBURY))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"ok: {THORNBURY}: Thornbury Safeguarding Adults Board — 3 stages on 1 track(s), "
        "7 clocks, 4 roles, 8 clauses"
    )


def test_the_third_board_differs_from_the_shipped_packs(thornbury: PolicyPack) -> None:
    assert (thornbury.board.id, thornbury.board.case_prefix) == ("thornbury", "TB")
    assert [s.id for s in thornbury.stage_path("main")] == ["1", "2", "3"]
    assert thornbury.calendar.end_of_working_day.isoformat() == "16:30:00"
    assert thornbury.immediate_risk.may_choose_start_stage is True
    assert thornbury.stage("3").outcome == StageOutcome.RECOMMENDATIONS
    resolve = thornbury.stage("2").clock("resolve")
    assert resolve is not None
    assert [(t.working_days, t.source) for t in resolve.timescales] == [
        (3, "text"),
        (4, "flowchart"),
    ]
    assert (resolve.effective.working_days, resolve.clauses) == (3, ["TB-2.2", "TB-flow"])
    shipped = [load_pack(POLICIES / "redbridge.yaml"), load_pack(POLICIES / "harrow.yaml")]
    for pack in shipped:
        assert pack.role("designated_lead") is None
        assert pack.role("executive_lead") is None
    registry = PackRegistry.from_paths(
        [POLICIES / "redbridge.yaml", POLICIES / "harrow.yaml", THORNBURY]
    )
    assert registry.board_ids() == ["harrow", "redbridge", "thornbury"]


def test_policy_show_by_name_from_the_configured_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLICY_DIR_ENV, str(FIXTURE_PACKS))
    code, out, err = run_cli("policy", "show", "thornbury")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "Working days: GB-ENG bank holidays, Europe/London, day ends 16:30" in lines
    assert (
        "    clock resolve: Designated leads resolve it — 3 WD (shortest applies); "
        "from stage_entered: 3 WD [TB-2.2] / 4 WD [TB-flow, flowchart]"
    ) in lines
    assert "  Stage 3: TSAB executive group [TB-2.3]" in lines


# -- deadlines: 16:30 and the shortest timescale -----------------------------------------------


@pytest.mark.parametrize(
    ("stage", "start", "expected"),
    [
        pytest.param(
            "1",
            "2026-06-10T16:00:00+01:00",
            {"respond": "2026-06-11T16:30:00+01:00", "resolve": "2026-06-16T16:30:00+01:00"},
            id="stage1-respond-1wd",
        ),
        pytest.param(
            # Wed 10 Jun 16:15 is before 16:30; resolve 3 WD (not the flowchart's 4): Mon 15.
            "2",
            "2026-06-10T16:15:00+01:00",
            {
                "referral": "2026-06-10T16:30:00+01:00",
                "resolve": "2026-06-15T16:30:00+01:00",
                "confirm": "2026-06-12T16:30:00+01:00",
            },
            id="stage2-before-1630",
        ),
        pytest.param(
            "2",
            "2026-06-10T16:29:59+01:00",
            {
                "referral": "2026-06-10T16:30:00+01:00",
                "resolve": "2026-06-15T16:30:00+01:00",
                "confirm": "2026-06-12T16:30:00+01:00",
            },
            id="stage2-one-second-before-1630",
        ),
        pytest.param(
            "2",
            "2026-06-10T16:30:00+01:00",
            {
                "referral": "2026-06-11T16:30:00+01:00",
                "resolve": "2026-06-15T16:30:00+01:00",
                "confirm": "2026-06-12T16:30:00+01:00",
            },
            id="stage2-at-1630",
        ),
        pytest.param(
            # 16:45 would still be the same working day in Redbridge (day ends 17:00).
            "2",
            "2026-06-10T16:45:00+01:00",
            {
                "referral": "2026-06-11T16:30:00+01:00",
                "resolve": "2026-06-15T16:30:00+01:00",
                "confirm": "2026-06-12T16:30:00+01:00",
            },
            id="stage2-after-1630",
        ),
        pytest.param(
            # 15:40 UTC is 16:40 BST: after the Thornbury day ends.
            "2",
            "2026-06-10T15:40:00Z",
            {
                "referral": "2026-06-11T16:30:00+01:00",
                "resolve": "2026-06-15T16:30:00+01:00",
                "confirm": "2026-06-12T16:30:00+01:00",
            },
            id="stage2-utc-after-local-1630",
        ),
        pytest.param(
            # Thu 24 Dec 2026 16:20 GMT; 10 WD skip 25, 28 Dec and 1 Jan: Tue 12 Jan 2027.
            "3",
            "2026-12-24T16:20:00+00:00",
            {"referral": "2026-12-24T16:30:00+00:00", "recommend": "2027-01-12T16:30:00+00:00"},
            id="stage3-christmas",
        ),
    ],
)
def test_thornbury_deadlines(stage: str, start: str, expected: dict[str, str]) -> None:
    code, out, err = run_cli(
        "deadlines", "--policy", str(THORNBURY), "--stage", stage, "--from", start, "--json"
    )
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert {row["clock"]: row["due"] for row in rows} == expected


def test_thornbury_deadlines_human_output_shows_the_shortest_timescale() -> None:
    argv = ["deadlines", "--policy", str(THORNBURY), "--stage", "2"]
    code, out, _ = run_cli(*argv, "--from", "2026-06-10T16:15:00+01:00")
    assert code == 0
    resolve = next(line for line in out.splitlines() if line.strip().startswith("resolve"))
    assert "3 WD" in resolve
    assert "due Mon 15 Jun 2026 16:30 BST" in resolve
    assert resolve.endswith("[TB-2.2, TB-flow]")


def test_unknown_stage_lists_the_three_stages() -> None:
    argv = ["deadlines", "--policy", str(THORNBURY), "--stage", "4"]
    code, _, err = run_cli(*argv, "--from", "2026-06-10T10:00:00+01:00")
    assert code == 2
    assert err == "error: thornbury has no stage '4' (stages: 1, 2, 3)\n"


# -- a whole case through the service ----------------------------------------------------------


async def test_a_case_runs_through_all_three_stages_and_closes(
    tb_service: EscalationService, clock: FakeClock
) -> None:
    # Monday 8 June 2026.
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await tb_service.execute(thornbury_raise())
    case = raised.case
    assert (case.id, case.board_id, case.stage, case.status) == (
        CASE_ID,
        "thornbury",
        "1",
        CaseStatus.OPEN,
    )
    assert dues(case, "1") == {
        "respond": ("2026-06-09T16:30:00+01:00", "running"),
        "resolve": ("2026-06-12T16:30:00+01:00", "running"),
    }
    assert ("stage_entered", "person:hugo") in sent(raised.notifications)

    # Tuesday: the practitioners talk; not resolved.
    clock.set("2026-06-09T12:00:00+01:00")
    talked = await tb_service.execute(
        RecordDiscussion(
            actor_id="tara",
            case_id=CASE_ID,
            held_at=at("2026-06-09T11:00:00+01:00"),
            participants=("tara", "hugo"),
            summary="Hugo will not restart the care package without a new assessment.",
            outcome="not_resolved",
            method="phone",
        )
    )
    # Tara's record does not answer for Hugo: his clock is met when he approves it.
    assert dues(talked.case, "1")["respond"] == ("2026-06-09T16:30:00+01:00", "running")
    assert talked.case.escalation_triggered_at == at("2026-06-09T12:00:00+01:00")
    approved = await tb_service.execute(
        ApproveRecord(actor_id="hugo", case_id=CASE_ID, record_id="R1")
    )
    assert dues(approved.case, "1")["respond"] == ("2026-06-09T16:30:00+01:00", "met")

    # Escalate to the designated safeguarding leads of both agencies.
    clock.set("2026-06-09T14:00:00+01:00")
    to_two = await tb_service.execute(
        Escalate(actor_id="tara", case_id=CASE_ID, reason="No agreement at practice level.")
    )
    case = to_two.case
    assert case.stage == "2"
    assert dues(case, "1") == {
        "respond": ("2026-06-09T16:30:00+01:00", "met"),
        "resolve": ("2026-06-12T16:30:00+01:00", "ended"),
    }
    # Referral runs from the 'not resolved' record (12:00) and is met by escalating at 14:00;
    # resolve is 3 WD (the text), not the flowchart's 4: Wed 10, Thu 11, Fri 12 June.
    assert dues(case, "2") == {
        "referral": ("2026-06-09T16:30:00+01:00", "met"),
        "resolve": ("2026-06-12T16:30:00+01:00", "running"),
    }
    referral = next(c for c in case.clocks if (c.stage, c.clock) == ("2", "referral"))
    assert referral.started_at == at("2026-06-09T12:00:00+01:00")
    stage_entered = {n.recipient.id for n in to_two.notifications if n.kind == "stage_entered"}
    assert stage_entered == {"dl-council", "dl-health"}  # not dl-police: not a party agency
    assert all(
        "Designated safeguarding lead" in n.reason
        for n in to_two.notifications
        if n.kind == "stage_entered"
    )
    assert ("case_escalated", "person:hugo") in sent(to_two.notifications)

    # Thursday: the leads cannot agree; one of them escalates to the executive group.
    clock.set("2026-06-11T10:00:00+01:00")
    to_three = await tb_service.execute(
        Escalate(actor_id="dl-health", case_id=CASE_ID, reason="The leads could not agree.")
    )
    case = to_three.case
    assert case.stage == "3"
    assert dues(case, "2")["resolve"] == ("2026-06-12T16:30:00+01:00", "ended")
    # 10 WD from Thu 11 June: Fri 12, 15-19, 22-25 June.
    assert dues(case, "3") == {
        "referral": ("2026-06-11T16:30:00+01:00", "met"),
        "recommend": ("2026-06-25T16:30:00+01:00", "running"),
    }
    assert sent(to_three.notifications) >= {
        ("stage_entered", "person:eve"),
        ("business_manager_copy", "channel:thornbury"),
        ("case_escalated", "person:tara"),
        ("case_escalated", "person:hugo"),
    }
    assert case.copied_to_business_manager is True

    # The executive lead records recommendations: the case is resolved.
    clock.set("2026-06-18T15:00:00+01:00")
    recommended = await tb_service.execute(
        RecordRecommendations(
            actor_id="eve",
            case_id=CASE_ID,
            recommendations=(
                "Health to complete a joint assessment by 22 June.",
                "Council to restart the care package meanwhile.",
            ),
        )
    )
    case = recommended.case
    assert case.status == CaseStatus.RESOLVED
    assert case.recommendations is not None
    assert case.recommendations.by == "eve"
    assert len(case.recommendations.items) == 2
    assert dues(case, "3")["recommend"] == ("2026-06-25T16:30:00+01:00", "met")
    assert sent(recommended.notifications) >= {
        ("recommendations_made", "person:tara"),
        ("recommendations_made", "person:hugo"),
        ("recommendations_made", "channel:thornbury"),
    }

    # Close: Thornbury records learning points but no policy gaps or debrief.
    clock.set("2026-06-19T10:00:00+01:00")
    closed = await tb_service.execute(
        CloseCase(
            actor_id="tara",
            case_id=CASE_ID,
            summary="Care restarted; joint assessment done.",
            learning_points=("Agree interim support before reassessing.",),
            policy_gaps=("None recorded by the board.",),
            debrief_offered=True,
        )
    )
    case = closed.case
    assert case.status == CaseStatus.CLOSED
    assert case.closure is not None
    assert case.closure.learning_points == ("Agree interim support before reassessing.",)
    assert case.closure.policy_gaps == ()
    assert case.closure.debrief_offered is False
    assert sent(closed.notifications) == {
        ("case_closed", "person:hugo"),
        ("case_closed", "channel:thornbury"),
    }
    assert [v.stage for v in case.stages] == ["1", "2", "3"]
    assert all(c.status != ClockStatus.RUNNING for c in case.clocks)
    every = (
        *raised.notifications,
        *talked.notifications,
        *to_two.notifications,
        *to_three.notifications,
        *recommended.notifications,
        *closed.notifications,
    )
    # Everyone the pack needs is in the directory: nobody has to be contacted by hand.
    assert not [n for n in every if n.kind == "contact_by_hand"]


async def test_stage_3_cannot_be_escalated_further(
    tb_service: EscalationService, clock: FakeClock
) -> None:
    clock.set("2026-06-08T10:00:00+01:00")
    await tb_service.execute(thornbury_raise())
    clock.set("2026-06-08T11:00:00+01:00")
    await tb_service.execute(Escalate(actor_id="tara", case_id=CASE_ID, reason="Urgent."))
    clock.set("2026-06-08T12:00:00+01:00")
    at_three = await tb_service.execute(
        Escalate(actor_id="dl-council", case_id=CASE_ID, reason="Still no agreement.")
    )
    assert at_three.case.stage == "3"
    version = at_three.case.version

    clock.set("2026-06-08T13:00:00+01:00")
    with pytest.raises(Refused) as caught:
        await tb_service.execute(Escalate(actor_id="eve", case_id=CASE_ID, reason="Further."))
    assert caught.value.code == RefusalCode.INVALID_STATE
    assert caught.value.reason == (
        "Stage 3 (TSAB executive group) is the last stage: it cannot be escalated further."
    )
    assert caught.value.clauses == ("TB-2.3",)

    with pytest.raises(Refused) as policy_issue:
        await tb_service.execute(
            Escalate(actor_id="eve", case_id=CASE_ID, reason="Policy.", policy_issue=True)
        )
    assert policy_issue.value.code == RefusalCode.INVALID_INPUT
    assert policy_issue.value.reason == "This board's policy has no policy-issue route."

    unchanged = await tb_service.case(CASE_ID)
    assert (unchanged.stage, unchanged.version) == ("3", version)


async def test_immediate_risk_may_start_at_stage_2(
    tb_service: EscalationService, clock: FakeClock
) -> None:
    clock.set("2026-06-08T10:00:00+01:00")
    outcome = await tb_service.execute(
        thornbury_raise(
            immediate_risk=True,
            aim="",
            start_stage="2",
            start_reason="The adult has no carer tonight.",
        )
    )
    case = outcome.case
    assert case.stage == "2"
    assert case.stages[0].reason == "The adult has no carer tonight."
    # Nothing was referred (the case started here) and no resolution yet: only 'resolve' runs,
    # capped by the immediate-risk rule at the end of this working day (16:30).
    (resolve,) = case.clocks
    assert (resolve.stage, resolve.clock) == ("2", "resolve")
    assert resolve.due == at("2026-06-08T16:30:00+01:00")
    assert resolve.basis == "immediate risk: within the same working day"
    assert resolve.clauses == ("TB-2.2", "TB-flow", "TB-1.2")
    assert {n.recipient.id for n in outcome.notifications if n.kind == "immediate_risk"} == {
        "dl-council"
    }
    assert {n.recipient.id for n in outcome.notifications if n.kind == "stage_entered"} == {
        "dl-council",
        "dl-health",
    }


async def test_start_stage_without_immediate_risk_is_refused(
    tb_service: EscalationService, clock: FakeClock
) -> None:
    clock.set("2026-06-08T10:00:00+01:00")
    with pytest.raises(Refused) as caught:
        await tb_service.execute(thornbury_raise(start_stage="2", start_reason="Faster."))
    assert caught.value.code == RefusalCode.NOT_PERMITTED
    assert caught.value.clauses == ("TB-1", "TB-1.2")


@pytest.mark.clause("RB-4.1")
async def test_redbridge_does_not_let_the_raiser_choose_the_stage(
    service: EscalationService, clock: FakeClock
) -> None:
    """The same command is refused by a pack whose immediate-risk rule differs."""
    clock.set("2026-06-08T10:00:00+01:00")
    with pytest.raises(Refused) as caught:
        await service.execute(
            RaiseDisagreement(
                actor_id="amara",
                board_id="redbridge",
                other_party=OtherParty(agency_id="nelft", person_id="noah"),
                adult_reference="RB-ADULT-1",
                category="communication",
                disagreement_date=date(2026, 6, 5),
                immediate_risk=True,
                issue="Discharge without a plan.",
                risk_to_adult="Self-neglect.",
                start_stage="2",
                start_reason="Urgent.",
            )
        )
    assert caught.value.code == RefusalCode.NOT_PERMITTED
    assert caught.value.clauses == ("RB-4.1", "RB-1.4")


async def test_recommendations_are_binding_where_the_pack_says_so(
    make_service: Callable[..., EscalationService],
    thornbury_directory: Directory,
    clock: FakeClock,
) -> None:
    data = yaml.safe_load(THORNBURY.read_text(encoding="utf-8"))
    data["stages"][2]["recommendations"]["binding"] = True
    binding_pack = parse_pack(yaml.safe_dump(data, sort_keys=False), source="binding.yaml")
    service = make_service(
        packs=PackRegistry([binding_pack]), directory=StaticDirectory(thornbury_directory)
    )
    clock.set("2026-06-08T10:00:00+01:00")
    opened = await service.execute(
        thornbury_raise(immediate_risk=True, start_stage="3", start_reason="No carer tonight.")
    )
    out = await service.execute(
        RecordRecommendations(actor_id="eve", case_id=opened.case.id, recommendations=("Visit",))
    )
    assert out.case.recommendations is not None and out.case.recommendations.binding is True
