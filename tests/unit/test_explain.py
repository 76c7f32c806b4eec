"""`escalation policy check` tells a valid pack back in plain words, so that a business manager
can check it against the protocol without reading YAML: every stage, every deadline and what
meets it, who is told, every clause cited, and what the board set rather than the protocol."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from admin.cli import main
from escalation.explain import explain
from escalation.packs import load_pack
from tests.unit.pack_changes import agree_then_meet, pack_with

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SHIPPED = sorted(p.stem for p in POLICIES.glob("*.yaml"))


@pytest.mark.parametrize("board", SHIPPED)
def test_every_stage_deadline_and_clause_is_told(board: str) -> None:
    pack = load_pack(POLICIES / f"{board}.yaml")
    told = "\n".join(explain(pack))
    for stage in pack.stages:
        assert f"{pack.words.stage_title} {stage.id}: {stage.name}" in told
        for clock in stage.clocks:
            assert f"Deadline '{clock.label}'" in told
    # Every clause the pack lists is cited by some line of it.
    assert pack.clause_ids() <= _cited(told)
    # The pack's field names stay in the pack.
    for field in ("runs_from", "stage_entered", "risk_to_adult", "local_default", "_reminders"):
        assert field not in told


def _cited(told: str) -> set[str]:
    return {c for group in re.findall(r"\[([^]]+)\]", told) for c in group.split(", ")}


def test_lincolnshire_in_plain_words() -> None:
    told = explain(load_pack(POLICIES / "lincolnshire.yaml"))
    assert 'It protects an adult; it calls its stages "step"' in told[1]
    assert any(
        line.startswith("    - Deadline 'Acknowledge the concern', for the other professional: "
                        "immediately (within 60 minutes) of the case reaching this step; met when "
                        '"Acknowledged" is recorded on the case card by the other professional.')
        for line in told
    )  # fmt: skip
    assert any("within 5 working days of the case reaching step 1" in line for line in told)
    assert any(
        "So does the business manager of Lincolnshire Safeguarding Children Partnership, which "
        "shares this step; the case stays LSAB's." in line
        for line in told
    )
    assert any(
        "While a case waits here, a reminder every 5 working days to: the LSAB independent "
        "chair or the LSAB business manager. (the board's setting, not the protocol's)" in line
        for line in told
    )


def test_cumbria_and_south_ayrshire_in_plain_words() -> None:
    cumbria = explain(load_pack(POLICIES / "cumbria.yaml"))
    assert any(
        "When the case moves on to the next level, told: the parties' line managers." in line
        for line in cumbria
    )
    assert any(
        "This is the last level: it cannot be escalated further." in line for line in cumbria
    )
    ayrshire = explain(load_pack(POLICIES / "south-ayrshire.yaml"))
    assert any(line.startswith("Working days: Monday to Friday except Scotland's bank holidays")
               for line in ayrshire)  # fmt: skip
    assert any("When the child is at immediate risk" in line for line in ayrshire)


def test_redbridge_tells_text_and_flowchart_apart() -> None:
    told = explain(load_pack(POLICIES / "redbridge.yaml"))
    assert any(
        "Deadline 'Senior managers resolve the disagreement'" in line
        and "within 5 working days (text) or within 2 working days (flowchart), whichever falls "
        "due first, of the case reaching this stage"
        in line
        for line in told
    )


def test_a_window_and_what_follows_it_are_told() -> None:
    told = "\n".join(explain(pack_with(agree_then_meet)))
    assert "if it passes, 'Hold a professionals' meeting' follows" in told
    assert (
        "within a further 5 WD" not in told
        and "within 5 working days of the deadline for 'Agree a way forward', and only if that "
        "is not met in time"
        in told
    )


def test_policy_check_prints_it_after_the_verdict() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["policy", "check", str(POLICIES / "cumbria.yaml")], out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok: ")
    assert lines[2] == (
        "What it makes the bot do, in plain words (check each line against the protocol):"
    )
    assert lines[4:] == explain(load_pack(POLICIES / "cumbria.yaml"))
