"""The pack author's guide (policies/README.md): every example in it is YAML, it shows each
thing a pack can say, and its complete example validates and runs a case, across Easter in
Wales (Good Friday and Easter Monday)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml

from escalation.commands import (
    ApproveOutcome,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RaiseDisagreement,
    RecordDiscussion,
    RecordMilestone,
)
from escalation.directory import Directory, StaticDirectory
from escalation.packs import PackRegistry, parse_pack
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.clocks import FakeClock
from testkit.people import person
from tests.unit.case_checks import at

GUIDE = Path(__file__).resolve().parents[2] / "policies" / "README.md"
TEXT = GUIDE.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.DOTALL)
COMPLETE = TEXT.split("<!-- complete example -->")[1].split("```yaml\n", 1)[1].split("```")[0]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_example_in_the_guide_is_yaml(block: str) -> None:
    assert yaml.safe_load(block) is not None


@pytest.mark.parametrize(
    "said",
    [
        "hours: 48",
        "immediately: true",
        "immediately_within_minutes",
        "runs_from: clock_missed",
        "clock_met",
        "discussion_failed",
        "of_stage:",
        "until: milestone",
        "recorded_by:",
        "on_leave:",
        "reminders:",
        "partners:",
        "copy_partners:",
        "senior: true",
        "words:",
        "track_question:",
        "joining:",
        "subdivision: SCT",
        "local_holidays:",
        "not_holidays:",
        "local_default: true",
        "source: local",
    ],
)
def test_the_guide_shows_each_thing_a_pack_can_say(said: str) -> None:
    assert said in TEXT


@pytest.fixture
def example() -> PolicyPack:
    return parse_pack(COMPLETE, source="policies/README.md")


def test_the_complete_example_is_a_valid_pack(example: PolicyPack) -> None:
    assert (example.board.id, example.calendar.nation) == ("example-wales", "Wales")
    assert [s.id for s in example.stage_path("main")] == ["1", "2", "3"]


async def test_the_complete_example_runs_a_case_across_easter_in_wales(
    make_service: Callable[..., EscalationService], clock: FakeClock, example: PolicyPack
) -> None:
    people = Directory.of(
        [
            person("wyn", "ex-council", "practitioner", manager="wmgr"),
            person("wmgr", "ex-council", "line_manager"),
            person("cai", "ex-health", "practitioner", manager="cmgr"),
            person("cmgr", "ex-health", "line_manager"),
        ]
    )
    service = make_service(packs=PackRegistry([example]), directory=StaticDirectory(people))
    clock.set("2026-04-02T16:00:00+01:00")  # the Thursday before Easter
    raised = await service.execute(
        RaiseDisagreement(
            actor_id="wyn",
            board_id="example-wales",
            other_party=OtherParty(agency_id="ex-health", person_id="cai"),
            adult_reference="EX-1234",
            category="any",
            disagreement_date=date(2026, 4, 1),
            issue="Discharge without a care plan.",
            risk_to_adult="Falls at home.",
            nature_of_disagreement="Whether a plan is needed first.",
        )
    )
    case = raised.case
    acknowledge = next(c for c in case.clocks if c.clock == "acknowledge")
    assert acknowledge.due == at("2026-04-02T16:30:00+01:00")  # 30 minutes: the pack's reading
    clock.set("2026-04-02T16:10:00+01:00")
    acked = await service.execute(
        RecordMilestone(actor_id="cai", case_id=case.id, clock_id="acknowledge")
    )
    # The letter's 48 clock hours run from the acknowledgement, through Good Friday.
    letter = next(c for c in acked.case.clocks if c.clock == "letter")
    assert (letter.started_at, letter.due) == (
        at("2026-04-02T16:10:00+01:00"),
        at("2026-04-04T16:10:00+01:00"),
    )

    clock.set("2026-04-07T10:00:00+01:00")  # the Tuesday after Easter Monday
    to_two = await service.execute(Escalate(actor_id="wyn", case_id=case.id, reason="None."))
    assert {n.recipient.id for n in to_two.notifications if n.kind == "stage_left"} == {
        "wmgr",
        "cmgr",
    }
    two = {c.clock: c for c in to_two.case.clocks if c.stage == "2"}
    # Step 2 within 5 working days of step 1 (Thu 2 April): Good Friday and Easter Monday do
    # not count: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13 April.
    assert two["discuss"].due == at("2026-04-13T17:00:00+01:00")
    # Agree within 2 WD (Thu 9 April), else a meeting within a further 5 (Thu 16 April).
    assert two["agree"].due == at("2026-04-09T17:00:00+01:00")
    assert (two["meeting"].started_at, two["meeting"].due) == (
        at("2026-04-09T17:00:00+01:00"),
        at("2026-04-16T17:00:00+01:00"),
    )

    clock.set("2026-04-14T10:00:00+01:00")
    met = await service.execute(
        RecordMilestone(actor_id="cmgr", case_id=case.id, clock_id="meeting")
    )
    status = {c.clock: c.status.value for c in met.case.clocks if c.stage == "2"}
    assert status == {"discuss": "running", "agree": "ended", "meeting": "met"}
    await service.execute(
        RecordDiscussion(
            actor_id="wmgr",
            case_id=case.id,
            held_at=at("2026-04-14T09:00:00+01:00"),
            participants=("wmgr", "cmgr"),
            summary="Agreed at the meeting.",
            outcome="resolved",
            agreed_outcome="A care plan before discharge.",
            method="meeting",
        )
    )
    await service.execute(ConfirmOutcome(actor_id="cmgr", case_id=case.id, outcome="Plan first."))
    resolved = await service.execute(ApproveOutcome(actor_id="wmgr", case_id=case.id))
    # "Each step's outcome is reported to the line managers": the approver knows it already.
    assert {n.recipient.id for n in resolved.notifications if n.kind == "stage_left"} == {"cmgr"}
