"""The report as JSON, Markdown and HTML: every figure there, and nothing that identifies anyone."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest

from escalation.case import Case
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from reports.charts import render_charts
from reports.figures import board_report
from reports.render import page_headers, to_html, to_json, to_markdown, write_report
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import PRIVATE, build_harrow, build_redbridge

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def cases(
    service: EscalationService, clock: FakeClock, repository: InMemoryCaseRepository
) -> list[Case]:
    await build_redbridge(service, clock)
    await build_harrow(service, clock)
    return list(repository.states.values())


def _without_images(html: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", html)


@pytest.mark.parametrize("board", ["redbridge", "harrow"])
def test_no_adult_person_or_case_text_reaches_any_format(
    cases: list[Case], packs: PackRegistry, board: str
) -> None:
    report = board_report(cases, packs.get(board), start=date(2026, 12, 1), end=date(2026, 12, 31))
    texts = {
        "json": to_json(report),
        "md": to_markdown(report),
        "html": _without_images(to_html(report)),
    }
    case_texts = {
        value
        for case in cases
        for value in (
            case.adult_reference,
            *case.details.values(),
            *(r.summary for r in case.records),
            *(r.agreed_outcome for r in case.records),
            *(case.closure.learning_points if case.closure else ()),
            *(case.closure.policy_gaps if case.closure else ()),
            *(case.closure.summary for _ in [0] if case.closure),
            *(case.recommendations.items if case.recommendations else ()),
            *(r.detail for r in case.agency_responses),
            *(r.summary for r in case.representations),
            case.panel.decision if case.panel and case.panel.decision else "",
            case.raiser.name,
            case.receiver.name,
            case.id,
        )
        if value
    }
    for fmt, text in texts.items():
        for secret in (*PRIVATE, *case_texts):
            assert secret not in text, f"{secret!r} leaked into the {fmt} report"


def test_json_holds_every_figure(cases: list[Case], packs: PackRegistry) -> None:
    report = board_report(
        cases, packs.get("redbridge"), start=date(2026, 12, 1), end=date(2026, 12, 31)
    )
    data = json.loads(to_json(report))
    assert data["raised"] == 4 and data["start"] == "2026-12-01"
    assert data["days_to_resolve"]["median"] == 3.0
    assert [r["count"] for r in data["agency_responses"]] == [1, 1, 0]


def test_markdown_has_a_table_per_figure(cases: list[Case], packs: PackRegistry) -> None:
    report = board_report(
        cases, packs.get("redbridge"), start=date(2026, 12, 1), end=date(2026, 12, 31)
    )
    md = to_markdown(report)
    assert md.startswith("# Redbridge Safeguarding Adults Board: escalations 1 December 2026")
    assert "| Cases raised | 4 |" in md
    assert (
        "| London Borough of Redbridge Adult Social Care | Metropolitan Police Service | 1 |" in md
    )
    assert "| Debriefs offered | 1 of 2 closed |" in md
    assert md.count("\n## ") == 11


def test_html_is_self_contained_with_charts_alt_text_and_tables(
    cases: list[Case], packs: PackRegistry
) -> None:
    report = board_report(
        cases, packs.get("harrow"), start=date(2026, 12, 1), end=date(2026, 12, 31)
    )
    charts = render_charts(report)
    assert [c.name for c in charts] == [
        "cases-by-stage",
        "monthly-trend",
        "clocks-by-agency",
        "time-to-resolve",
    ]
    assert all(c.png.startswith(PNG) and c.alt for c in charts)
    html = to_html(report, charts)
    assert html.count('<img src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(?!data:)', html)  # nothing fetched from elsewhere
    assert "@media print" in html and "<style>" in html
    for table_id in ("by-stage", "monthly", "clocks-by-agency", "days-at-stage", "learning"):
        assert f'<table id="{table_id}">' in html
    assert all(f'alt="{c.alt}"' in html for c in charts if '"' not in c.alt)


def test_write_report_writes_the_file_and_the_charts_beside_it(
    cases: list[Case], packs: PackRegistry, tmp_path: Path
) -> None:
    report = board_report(
        cases, packs.get("redbridge"), start=date(2026, 12, 1), end=date(2026, 12, 31)
    )
    written = write_report(report, "html", tmp_path / "out" / "december.html")
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "out/december.html",
        "out/december-charts/cases-by-stage.png",
        "out/december-charts/monthly-trend.png",
        "out/december-charts/clocks-by-agency.png",
        "out/december-charts/time-to-resolve.png",
    ]
    assert all(p.read_bytes().startswith(PNG) for p in written[1:])
    assert write_report(report, "md", tmp_path / "r.md") == [tmp_path / "r.md"]
    assert (
        json.loads((write_report(report, "json", tmp_path / "r.json")[0]).read_text())["raised"]
        == 4
    )
    with pytest.raises(ValueError, match="unknown report format"):
        write_report(report, "pdf", tmp_path / "r.pdf")  # type: ignore[arg-type]


def test_an_empty_period_still_renders(cases: list[Case], packs: PackRegistry) -> None:
    report = board_report(
        cases, packs.get("redbridge"), start=date(2025, 1, 1), end=date(2025, 1, 31)
    )
    assert report.raised == 0
    html = to_html(report)
    assert html.count("<img ") == 4 and "None</td>" in html
    assert "| Cases raised | 0 |" in to_markdown(report)


def test_the_page_policy_names_the_stylesheet_the_page_holds(
    cases: list[Case], packs: PackRegistry
) -> None:
    report = board_report(
        cases, packs.get("redbridge"), start=date(2026, 12, 1), end=date(2026, 12, 31)
    )
    html = to_html(report)
    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    headers = page_headers()
    policy = headers["Content-Security-Policy"]
    assert f"style-src 'sha256-{digest}'" in policy.split("; ")
    assert "img-src data:" in policy.split("; ") and "'unsafe-inline'" not in policy
    assert re.findall(r'<img src="([a-z]+):', html) == ["data"] * 4
    assert headers["Cache-Control"] == "no-store"
