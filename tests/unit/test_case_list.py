"""The `cases` answer: one Markdown line a case, telling cases apart and saying what each needs."""

from __future__ import annotations

from cards.case_list import NO_CASES, case_line, case_list_text
from escalation.directory import Directory
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import redbridge_raise
from testkit.clocks import FakeClock
from testkit.scenarios import at_stage_2, at_stage_3
from tests.unit.card_checks import view_of


async def test_each_line_tells_its_case_apart_from_the_viewers_side(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    line = case_line(view_of(case, redbridge, directory, "lena", clock.now))
    assert line == (
        f"- **{case.id}**, adult's ref `ASC-104233`, with NELFT NHS Foundation Trust: stage 2 "
        "(Line managers); next due Wed 09 Dec 17:00, 5 working days left. Waiting on you: Line "
        "managers resolve the disagreement (by Wed 09 Dec 17:00); approve record R1."
    )
    theirs = case_line(view_of(case, redbridge, directory, "nadia", clock.now))
    assert "with London Borough of Redbridge Adult Social Care: stage 2" in theirs


async def test_the_boards_copy_names_both_agencies_and_nothing_waiting(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_3(service, clock))
    line = case_line(view_of(case, redbridge, directory, "rb-bm", clock.now))
    assert line.startswith(
        f"- **{case.id}**, adult's ref `ASC-104233`, between London Borough of Redbridge Adult "
        "Social Care and NELFT NHS Foundation Trust: stage 3 (Senior managers); next due"
    )
    assert "Waiting on you" not in line and line.endswith("(RSAB copy, for information.)")
    for typed in case.details.values():
        assert typed not in line


async def test_immediate_risk_leads_and_typed_references_stay_plain(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    raised = (
        await service.execute(redbridge_raise(immediate_risk=True, adult_reference="AS*C `7_1"))
    ).case
    view = view_of(raised, redbridge, directory, "noah", clock.now)
    line = case_line(view)
    assert line.startswith(f"- **IMMEDIATE RISK** **{raised.id}**, adult's ref `AS*C '7_1`,")
    assert "next due today, Tue 01 Dec 17:00" in line
    later = view_of(raised, redbridge, directory, "noah", clock.now.replace(hour=18))
    assert "; **OVERDUE** since Tue 01 Dec 17:00." in case_line(later)
    assert case_list_text([]) == NO_CASES
    assert case_list_text([view]).startswith("You have 1 open case(s):\n- **IMMEDIATE RISK**")
