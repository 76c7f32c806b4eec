"""A board report as JSON, Markdown, CSV or one self-contained HTML file (with PNG charts beside it).

The HTML has no external reference: its CSS is inline (with a print stylesheet: A4, no page
break inside a table or chart) and its charts are base64 PNG images with alt text, each followed
by a table of the numbers it shows, so the figures can be read without seeing the image.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Sequence
from datetime import date
from html import escape
from pathlib import Path
from typing import Any, Literal

from reports.charts import Chart, render_charts
from reports.figures import BoardReport, Spread

DASH = "\u2013"  # en dash: ranges and empty cells

__all__ = [
    "Format",
    "Table",
    "page_headers",
    "report_body",
    "tables",
    "title_of",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "write_report",
]

Format = Literal["html", "md", "json", "csv"]
Table = tuple[str, str, list[str], list[list[str]]]


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(report: BoardReport) -> str:
    return json.dumps(_plain(dataclasses.asdict(report)), indent=2, ensure_ascii=False) + "\n"


# -- tables shared by Markdown and HTML ---------------------------------------------------------


def _num(value: float | None) -> str:
    return DASH if value is None else f"{value:g}"


def _spread_cells(s: Spread) -> list[str]:
    return [
        str(s.n),
        _num(s.median),
        f"{_num(s.q1)}{DASH}{_num(s.q3)}",
        f"{_num(s.min)}{DASH}{_num(s.max)}",
    ]


_SPREAD_HEAD = ["n", "median", "middle half", "range"]


def tables(report: BoardReport) -> list[Table]:
    """(id, title, header, rows) for every table of the report, in order: the Markdown, HTML and
    CSV reports and the board tab all show these."""
    closed_total = report.closed
    stage_rows = [r for r in report.by_stage if r.reached or r.track == report.default_track]
    return [
        (
            "summary",
            "Summary",
            ["Measure", "Value"],
            [
                ["Cases raised", str(report.raised)],
                ["Open", str(report.open)],
                ["Resolved (not yet closed)", str(report.resolved)],
                ["Closed", str(report.closed)],
                ["Immediate risk", str(report.immediate_risk)],
                ["Sent straight to the policy-issue stage", str(report.policy_issue_referrals)],
                [
                    "Working days from raising to resolution (median; range)",
                    f"{_num(report.days_to_resolve.median)}; "
                    f"{_num(report.days_to_resolve.min)}{DASH}{_num(report.days_to_resolve.max)} "
                    f"(n={report.days_to_resolve.n})",
                ],
            ],
        ),
        (
            "by-category",
            "Cases by category",
            ["Category", "Cases"],
            [[r.label, str(r.count)] for r in report.by_category],
        ),
        (
            "by-agency-pair",
            "Cases by agency pair",
            ["Agency", "Agency", "Cases"],
            [[r.agency_a, r.agency_b, str(r.count)] for r in report.by_agency_pair],
        ),
        (
            "by-stage",
            "Cases by stage reached and ended",
            ["Stage", "Name", "Reached", "Resolved here", "Open here"],
            [
                [r.stage, r.name, str(r.reached), str(r.ended_resolved), str(r.ended_open)]
                for r in stage_rows
            ],
        ),
        (
            "monthly",
            "Monthly trend",
            ["Month", "Raised", "Resolved"],
            [[m.month, str(m.raised), str(m.resolved)] for m in report.monthly],
        ),
        (
            "days-at-stage",
            "Working days at each stage (completed visits)",
            ["Stage", "Name", *_SPREAD_HEAD],
            [[r.stage, r.name, *_spread_cells(r.days_at_stage)] for r in stage_rows],
        ),
        (
            "days-to-resolve",
            "Working days from raising to resolution, by the stage it ended at",
            ["Stage", "Name", *_SPREAD_HEAD],
            [[r.stage, r.name, *_spread_cells(r.days_to_resolve)] for r in stage_rows],
        ),
        (
            "clocks-by-stage",
            "Clocks (deadlines) by stage",
            ["Stage", "Clock", "Met", "Missed", "Ended with the stage", "Running"],
            [
                [c.stage, c.label, str(c.met), str(c.missed), str(c.ended), str(c.running)]
                for c in report.clocks_by_stage
            ],
        ),
        (
            "clocks-by-agency",
            "Clocks met and missed, by agency",
            ["Agency", "Met", "Missed"],
            [[c.agency, str(c.met), str(c.missed)] for c in report.clocks_by_agency],
        ),
        (
            "final-stage",
            "Recommendations, panels and responses",
            ["Measure", "Value"],
            [
                [
                    f"Cases with {report.recommender}'s recommendations",
                    str(report.recommendations_made),
                ],
                ["Recommendations made", str(report.recommendations_total)],
                *[
                    [f"Agency responses: {r.label.lower()}", str(r.count)]
                    for r in report.agency_responses
                ],
                ["Agency responses awaited", str(report.responses_awaited)],
                ["Resolution panels convened", str(report.panels_convened)],
                ["Panel decisions made", str(report.panel_decisions)],
            ],
        ),
        (
            "learning",
            "Learning",
            ["Measure", "Value"],
            [
                [
                    "Learning points raised",
                    f"{report.learning_points} (in {report.cases_with_learning_points} cases)",
                ],
                [
                    "Policy gaps raised",
                    f"{report.policy_gaps} (in {report.cases_with_policy_gaps} cases)",
                ],
                ["Debriefs offered", f"{report.debriefs_offered} of {closed_total} closed"],
            ],
        ),
    ]


def title_of(report: BoardReport) -> str:
    return f"{report.board_name}: escalations {report.start:%-d %B %Y} to {report.end:%-d %B %Y}"


_ABOUT = (
    "Cases raised in the period, with everything recorded on them since. Counts and working "
    "days only: no adult, no person and no case text appears in this report. A deadline that "
    "both agencies own counts for each."
)


# -- CSV --------------------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as written: one that would start a formula gets a quote mark."""
    if text.startswith(_FORMULA) and not _numeric(text.lstrip("-")):
        return "'" + text
    return text


def to_csv(report: BoardReport) -> str:
    """Every table of the report, one after another: its title on a line, its header, its rows,
    then a blank line. The period and the board come first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(title_of(report))])
    for note in report.notes:
        writer.writerow([_csv_cell(note)])
    writer.writerow([])
    for _, title, head, rows in tables(report):
        writer.writerow([_csv_cell(title)])
        writer.writerow([_csv_cell(h) for h in head])
        for row in rows:
            writer.writerow([_csv_cell(c) for c in row])
        writer.writerow([])
    return out.getvalue()


# -- Markdown -----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: BoardReport) -> str:
    lines = [f"# {title_of(report)}", ""]
    for note in report.notes:
        lines += [f"> **{note}**", ""]
    lines += [_ABOUT, ""]
    for _, title, head, rows in tables(report):
        lines += [f"## {title}", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        if not rows:
            lines.append("| " + " | ".join([DASH] * len(head)) + " |")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: "Segoe UI", Arial, sans-serif; color: #1b1b1b; margin: 2rem auto;
  max-width: 58rem; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 2px solid #0072B2; padding-bottom: .2rem; }
.synthetic { background: #fff3cd; border: 2px solid #E69F00; padding: .6rem 1rem; font-weight: bold; }
.about { color: #444; }
table { border-collapse: collapse; margin: .6rem 0 1rem; min-width: 50%; }
th, td { border: 1px solid #bbb; padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef4fa; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #444; }
details { margin-bottom: 1rem; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  table, figure { break-inside: avoid; }
  details > summary { display: none; }
  details { display: block; }
  .synthetic { border-width: 3px; }
}
"""


def page_headers() -> dict[str, str]:
    """HTTP headers for serving the HTML report (and the answers of its route).

    The page holds a board's figures: it is never stored by a browser or proxy, never framed,
    and sends no referrer. Its policy lets in only what `to_html` writes, its one inline
    stylesheet (by hash, so no other inline style runs) and its data: PNG charts; nothing
    else may load, run or be submitted.
    """
    style = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    policy = "; ".join(
        [
            "default-src 'none'",
            "img-src data:",
            f"style-src 'sha256-{style}'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    }


def _html_table(table_id: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = [f'<table id="{escape(table_id)}">', "<thead><tr>"]
    out += [f'<th scope="col">{escape(h)}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    if not rows:
        out.append(f'<tr><td colspan="{len(head)}">None</td></tr>')
    for row in rows:
        cells = [
            f'<td class="n">{escape(c)}</td>' if _numeric(c) else f"<td>{escape(c)}</td>"
            for c in row
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace(DASH, "").isdigit()


# Which table carries each chart's numbers.
_CHART_TABLE = {
    "cases-by-stage": "by-stage",
    "monthly-trend": "monthly",
    "clocks-by-agency": "clocks-by-agency",
    "time-to-resolve": "days-at-stage",
}
_BEFORE_CHARTS = ("summary", "by-category", "by-agency-pair")


def report_body(
    report: BoardReport, figures: Sequence[tuple[str, str, str]], *, heading: int = 2
) -> str:
    """The report's sections as HTML: its notes, the tables before the charts, each chart
    (`figures`: name, title and the figure's own HTML) with the table of its numbers, then the
    other tables. `heading` is the level of each section's heading."""
    by_id = {t[0]: t for t in tables(report)}
    shown_with_chart = set(_CHART_TABLE.values())
    h = f"h{heading}"
    parts = [f'<p class="synthetic" role="note">{escape(n)}</p>' for n in report.notes]
    parts.append(f'<p class="about">{escape(_ABOUT)}</p>')
    for table_id in _BEFORE_CHARTS:
        _, title, head, rows = by_id[table_id]
        parts.append(f"<{h}>{escape(title)}</{h}>{_html_table(table_id, head, rows)}")
    for name, title, figure in figures:
        parts.append(f"<{h}>{escape(title)}</{h}>")
        parts.append(figure)
        chart_table = _CHART_TABLE.get(name)
        if chart_table is not None:
            _, table_title, head, rows = by_id[chart_table]
            parts.append(f"<p><strong>{escape(table_title)}</strong></p>")
            parts.append(_html_table(chart_table, head, rows))
    for table_id, (_, title, head, rows) in by_id.items():
        if table_id not in _BEFORE_CHARTS and table_id not in shown_with_chart:
            parts.append(f"<{h}>{escape(title)}</{h}>{_html_table(table_id, head, rows)}")
    return "\n".join(parts)


def to_html(report: BoardReport, charts: Sequence[Chart] | None = None) -> str:
    charts = render_charts(report) if charts is None else charts
    figures = []
    for chart in charts:
        encoded = base64.b64encode(chart.png).decode("ascii")
        figures.append(
            (
                chart.name,
                chart.title,
                f'<figure><img src="data:image/png;base64,{encoded}" alt="{escape(chart.alt)}">'
                f"<figcaption>{escape(chart.alt)}</figcaption></figure>",
            )
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title_of(report))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title_of(report))}</h1>",
        report_body(report, figures),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# -- files --------------------------------------------------------------------------------------


def write_report(report: BoardReport, fmt: Format, out_path: Path) -> list[Path]:
    """Write the report; for HTML also `<stem>-charts/<chart>.png` beside it. Returns the files."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        out_path.write_text(to_json(report), encoding="utf-8")
        return [out_path]
    if fmt == "md":
        out_path.write_text(to_markdown(report), encoding="utf-8")
        return [out_path]
    if fmt == "csv":
        out_path.write_text(to_csv(report), encoding="utf-8", newline="")
        return [out_path]
    if fmt != "html":
        raise ValueError(f"unknown report format {fmt!r} (html, md, json or csv)")
    charts = render_charts(report)
    out_path.write_text(to_html(report, charts), encoding="utf-8")
    folder = out_path.with_name(f"{out_path.stem}-charts")
    folder.mkdir(exist_ok=True)
    written = [out_path]
    for chart in charts:
        png = folder / f"{chart.name}.png"
        png.write_bytes(chart.png)
        written.append(png)
    return written
