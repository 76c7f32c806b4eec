"""What the board tab adds to the report: the four charts in SVG (themeable, no inline style), the
CSV download, and filters by agency, category and stage that the command line shares."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from escalation.case import Case
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from reports.figures import board_report
from reports.filters import CaseFilter, FilterError
from reports.render import tables, to_csv
from reports.svg import svg_charts
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import PRIVATE, build_harrow, build_redbridge

START, END = date(2026, 12, 1), date(2026, 12, 31)


@pytest.fixture
async def cases(
    service: EscalationService, clock: FakeClock, repository: InMemoryCaseRepository
) -> list[Case]:
    await build_redbridge(service, clock)
    await build_harrow(service, clock)
    return list(repository.states.values())


@pytest.mark.parametrize("board", ["redbridge", "harrow"])
def test_the_four_charts_in_svg_hold_no_style_script_or_case_text(
    cases: list[Case], packs: PackRegistry, board: str
) -> None:
    report = board_report(cases, packs.get(board), start=START, end=END)
    charts = svg_charts(report)
    assert [c.name for c in charts] == [
        "cases-by-stage",
        "monthly-trend",
        "clocks-by-agency",
        "time-to-resolve",
    ]
    for chart in charts:
        assert chart.svg.startswith('<svg class="chart"') and chart.svg.endswith("</svg>")
        assert 'role="img"' in chart.svg and f'<desc id="{chart.name}-d">' in chart.svg
        assert " style=" not in chart.svg and "<style" not in chart.svg
        assert "<script" not in chart.svg and "href" not in chart.svg
        assert not [p for p in PRIVATE if p in chart.svg]
    # Bars carry their numbers as titles too: the by-stage chart says what each stage reached.
    for row in report.by_stage:
        if row.reached:
            assert f"Stage {row.stage}: reached by {row.reached}" in charts[0].svg


def test_charts_of_an_empty_period_say_so(packs: PackRegistry) -> None:
    report = board_report([], packs.get("redbridge"), start=date(2026, 4, 1), end=date(2026, 4, 30))
    charts = svg_charts(report)
    assert all(re.search(r"No (cases|clocks|stage)", c.svg) for c in charts)


def test_the_csv_holds_every_table_and_nothing_private(
    cases: list[Case], packs: PackRegistry
) -> None:
    report = board_report(cases, packs.get("redbridge"), start=START, end=END)
    text = to_csv(report)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0].startswith("Redbridge Safeguarding Adults Board")
    for _, title, head, body in tables(report):
        assert [title] in rows and head in rows
        for row in body:
            assert row in rows
    assert ["Cases raised", str(report.raised)] in rows
    assert not [p for p in PRIVATE if p in text]


def test_a_csv_cell_that_would_start_a_formula_is_quoted(packs: PackRegistry) -> None:
    from reports.render import _csv_cell

    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("@SUM") == "'@SUM"
    assert _csv_cell("12") == "12" and _csv_cell("Harrow") == "Harrow"


def test_filters_choose_cases_and_say_so_in_the_report(
    cases: list[Case], packs: PackRegistry
) -> None:
    pack = packs.get("redbridge")
    everything = board_report(cases, pack, start=START, end=END)
    assert CaseFilter().select(cases) == cases and not CaseFilter().applies
    nelft = CaseFilter(agency="nelft").check(pack)
    chosen = nelft.select(cases)
    assert chosen and all("nelft" in {p.agency_id for p in c.parties} for c in chosen)
    reached = CaseFilter(stage="2").check(pack).select(cases)
    assert all("2" in {v.stage for v in c.stages} for c in reached)
    category = cases[0].category
    assert all(c.category == category for c in CaseFilter(category=category).select(cases))
    report = nelft.note(board_report(chosen, pack, start=START, end=END), pack)
    assert report.notes[-1].startswith("Only the cases with")
    assert report.raised <= everything.raised
    for wrong in (CaseFilter(agency="x"), CaseFilter(category="x"), CaseFilter(stage="9")):
        with pytest.raises(FilterError):
            wrong.check(pack)
