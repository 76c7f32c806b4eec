"""The report's numbers, checked against cases built by hand through the service."""

from __future__ import annotations

from datetime import date

import pytest

from escalation.case import Case
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from reports.figures import (
    AgencyClockRow,
    AgencyPairRow,
    BoardReport,
    ClockRow,
    CountRow,
    Spread,
    StageRow,
    board_report,
    spread,
)
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import build_harrow, build_redbridge

ASC = "London Borough of Redbridge Adult Social Care"
NELFT = "NELFT NHS Foundation Trust"
POLICE = "Metropolitan Police Service"
START, END = date(2026, 12, 1), date(2026, 12, 31)


@pytest.fixture
async def cases(
    service: EscalationService, clock: FakeClock, repository: InMemoryCaseRepository
) -> list[Case]:
    await build_redbridge(service, clock)
    await build_harrow(service, clock)
    return list(repository.states.values())


@pytest.fixture
def rb(cases: list[Case], redbridge: PolicyPack) -> BoardReport:
    return board_report(cases, redbridge, start=START, end=END)


def stage(report: BoardReport, stage_id: str) -> StageRow:
    [row] = [r for r in report.by_stage if r.stage == stage_id]
    return row


def clock_row(report: BoardReport, stage_id: str, clock_id: str) -> ClockRow:
    [row] = [r for r in report.clocks_by_stage if (r.stage, r.clock) == (stage_id, clock_id)]
    return row


def test_cases_raised_by_status_category_and_agency_pair(rb: BoardReport) -> None:
    assert (rb.raised, rb.open, rb.resolved, rb.closed, rb.immediate_risk) == (4, 1, 1, 2, 1)
    assert rb.by_category == (
        CountRow("Eligibility criteria and access to services", 1),
        CountRow("An agency's response to safeguarding concerns or a safeguarding plan", 2),
        CountRow("Roles and responsibilities", 0),
        CountRow("Intra- or inter-agency communication", 1),
        CountRow("Practice or case management, including drift or case closure", 0),
        CountRow("Another significant issue", 0),
    )
    # Unordered pairs, by agency name, most cases first.
    assert rb.by_agency_pair == (AgencyPairRow(ASC, NELFT, 3), AgencyPairRow(ASC, POLICE, 1))
    assert not rb.synthetic and rb.notes == ()


def test_stages_reached_and_ended(rb: BoardReport) -> None:
    got = [(r.stage, r.reached, r.ended_resolved, r.ended_open) for r in rb.by_stage]
    assert got == [("1", 4, 2, 0), ("2", 2, 0, 1), ("3", 1, 0, 0), ("4", 1, 1, 0)]
    assert rb.policy_issue_referrals == 0


def test_working_days_count_no_weekend_or_bank_holiday(rb: BoardReport) -> None:
    # A: 3 WD (Wed-Fri). C: 22 to 29 December is 3 WD (25 and 28 are bank holidays). B: 8 WD.
    assert rb.days_to_resolve == Spread(n=3, median=3.0, q1=3.0, q3=5.5, min=3, max=8)
    assert stage(rb, "1").days_to_resolve == Spread(2, 3.0, 3.0, 3.0, 3, 3)
    assert stage(rb, "4").days_to_resolve == Spread(1, 8.0, 8.0, 8.0, 8, 8)
    # At stage 1: A 3, B 1, C 3, D 2 (escalated on Thursday 3 December).
    assert stage(rb, "1").days_at_stage == Spread(4, 2.5, 1.75, 3.0, 1, 3)
    # B spent 2 WD at stage 2 and at 3 (4 to 8 December spans a weekend) and 3 at stage 4; D is
    # still at stage 2, so its visit is not complete.
    assert stage(rb, "2").days_at_stage == Spread(1, 2.0, 2.0, 2.0, 2, 2)
    assert stage(rb, "3").days_at_stage == Spread(1, 2.0, 2.0, 2.0, 2, 2)
    assert stage(rb, "4").days_at_stage == Spread(1, 3.0, 3.0, 3.0, 3, 3)


def test_clocks_met_and_missed_by_stage(rb: BoardReport) -> None:
    raise_clock = clock_row(rb, "1", "raise")
    assert (raise_clock.met, raise_clock.missed) == (3, 1)  # C was raised late
    referral = clock_row(rb, "2", "referral")
    assert (referral.met, referral.missed) == (1, 1)  # D escalated the next day
    recommend = clock_row(rb, "4", "recommend")
    assert (recommend.met, recommend.missed, recommend.running) == (1, 0, 0)
    d_resolve = clock_row(rb, "2", "resolve")  # D's is running; B's ended when it moved on
    assert (d_resolve.running, d_resolve.ended) == (1, 1)
    # Rows follow the pack's order of stages and clocks.
    assert [(r.stage, r.clock) for r in rb.clocks_by_stage][:4] == [
        ("1", "raise"),
        ("1", "respond"),
        ("1", "resolve"),
        ("1", "confirm"),
    ]


def test_clocks_are_attributed_to_the_agencies_that_own_them(rb: BoardReport) -> None:
    by_agency = {r.agency: r for r in rb.clocks_by_agency}
    # C's clocks: raise (raiser: ASC, missed); respond and confirm (receiver: police, met);
    # resolve (both sides, met).
    assert by_agency[POLICE] == AgencyClockRow(POLICE, met=3, missed=0)
    # The Chair's recommendation clock belongs to the board.
    assert by_agency["RSAB (board)"] == AgencyClockRow("RSAB (board)", met=1, missed=0)
    assert by_agency[ASC].missed >= 2  # C's late raising and D's late referral
    assert set(by_agency) == {ASC, NELFT, POLICE, "RSAB (board)"}


def test_recommendations_responses_and_learning_are_counted_not_quoted(rb: BoardReport) -> None:
    assert (rb.recommendations_made, rb.recommendations_total, rb.responses_awaited) == (1, 2, 0)
    assert {r.response: r.count for r in rb.agency_responses} == {
        "accepted": 1,
        "partly_accepted": 1,
        "not_accepted": 0,
    }
    assert (rb.panels_convened, rb.panel_decisions) == (0, 0)
    assert (rb.learning_points, rb.cases_with_learning_points) == (1, 1)
    assert (rb.policy_gaps, rb.cases_with_policy_gaps) == (1, 1)
    assert (rb.debriefs_offered, rb.closed) == (1, 2)


def test_monthly_trend(rb: BoardReport, cases: list[Case], redbridge: PolicyPack) -> None:
    assert [(m.month, m.raised, m.resolved) for m in rb.monthly] == [("2026-12", 4, 3)]
    autumn = board_report(cases, redbridge, start=date(2026, 11, 15), end=date(2027, 1, 10))
    assert [(m.month, m.raised) for m in autumn.monthly] == [
        ("2026-11", 0),
        ("2026-12", 4),
        ("2027-01", 0),
    ]


def test_only_cases_raised_in_the_period_count(cases: list[Case], redbridge: PolicyPack) -> None:
    later = board_report(cases, redbridge, start=date(2026, 12, 2), end=date(2026, 12, 31))
    assert later.raised == 1  # only C, raised on 22 December
    assert board_report(cases, redbridge, start=date(2027, 1, 1), end=date(2027, 1, 31)).raised == 0
    with pytest.raises(ValueError, match="before it starts"):
        board_report(cases, redbridge, start=date(2026, 12, 2), end=date(2026, 12, 1))


def test_harrow_panels(cases: list[Case], harrow: PolicyPack) -> None:
    hw = board_report(cases, harrow, start=START, end=END)
    assert (hw.raised, hw.resolved, hw.closed, hw.immediate_risk) == (2, 1, 1, 0)
    assert (hw.panels_convened, hw.panel_decisions, hw.recommendations_made) == (1, 1, 0)
    got = [(r.stage, r.reached, r.ended_resolved) for r in hw.by_stage if r.track == "main"]
    assert got == [("1", 2, 1), ("2", 1, 0), ("3", 1, 0), ("4", 1, 1)]
    assert hw.days_to_resolve == Spread(2, 2.5, 1.75, 3.25, 1, 4)  # F 1 WD, E 4 WD
    assert (hw.learning_points, hw.policy_gaps, hw.debriefs_offered) == (1, 1, 1)
    # Harrow's stage clocks belong to both sides (and the panel's to the board).
    assert {r.agency for r in hw.clocks_by_agency} >= {"HSAB (board)"}


def test_spread_of_nothing_and_of_one() -> None:
    assert spread([]) == Spread(0)
    assert spread([4]) == Spread(1, 4.0, 4.0, 4.0, 4, 4)


# -- what the pack says: senior stages, the default track, its words ---------------------------


def test_a_case_that_reached_several_senior_stages_counts_once(
    rb: BoardReport, cases: list[Case], harrow: PolicyPack
) -> None:
    from cards.summary_card import summary_card

    # Redbridge's senior stages are those that copy the business manager: 3 and 4. B reached
    # both, and is one case.
    assert (rb.senior_stages, rb.reached_senior, rb.senior_label) == (
        ("3", "4"),
        1,
        "Reached stage 3 or 4",
    )
    card = summary_card(rb, title="Summary")
    facts = {f["title"]: f["value"] for n in card["body"] for f in n.get("facts", [])}
    assert facts["Reached stage 3 or 4"] == "1"
    assert facts["The Chair's recommendations"] == "1"
    # Harrow marks stages 3 (its board members) and 4 (the panel) senior; E reached both.
    hw = board_report(cases, harrow, start=START, end=END)
    assert (hw.senior_stages, hw.reached_senior) == (("3", "4"), 1)


def test_a_board_with_no_senior_stage_and_its_own_words(
    cases: list[Case], redbridge: PolicyPack
) -> None:
    data = redbridge.model_dump(mode="json", exclude_defaults=True)
    for stage in data["stages"]:
        stage["copy_business_manager"] = False
    data["words"] = {"stage": "step", "recommender": "the independent chair"}
    plain = PolicyPack.model_validate(data)
    report = board_report(cases, plain, start=START, end=END)
    assert (report.senior_stages, report.reached_senior) == ((), 0)
    assert report.senior_label == "Reached a senior step"
    from reports.render import tables

    summary = dict(next(rows for tid, _, _, rows in tables(report) if tid == "final-stage"))
    assert summary["Cases with the independent chair's recommendations"] == "1"


def test_reports_show_the_packs_default_track(cases: list[Case], harrow: PolicyPack) -> None:
    """Stages nobody reached are shown for the pack's default track, whatever it is called."""
    from reports.render import tables

    data = harrow.model_dump(mode="json", exclude_defaults=True)
    data["default_track"] = "threshold"
    report = board_report(cases, PolicyPack.model_validate(data), start=START, end=END)
    assert report.default_track == "threshold"
    by_stage = next(rows for tid, _, _, rows in tables(report) if tid == "by-stage")
    shown = [row[0] for row in by_stage]
    assert {"T1", "T2", "T3"} <= set(shown)  # none reached, but on the default track
