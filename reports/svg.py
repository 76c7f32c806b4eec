"""The report's four charts as SVG drawn on the server, for pages that show them in a browser.

The same charts as the report's PNGs (reports.charts), from the same `BoardReport`: cases by
stage reached, the monthly trend, clocks met and missed by agency, and working days at each
stage. Each is one `<svg role="img">` with a title and a description (the chart's alt text),
scaled by its viewBox. Colours and lines come from CSS classes (`chart-*`), never from style
attributes, so a page's theme (light, dark, high contrast) styles them and a strict
Content-Security-Policy needs no inline style; missed deadlines are also hatched, so nothing is
told by colour alone. Every chart is shown beside a table of its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from reports.charts import Chart
from reports.figures import BoardReport

__all__ = ["SvgChart", "svg_charts"]

_W = 640  # the viewBox width; the height depends on the chart
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 36, 48


@dataclass(frozen=True)
class SvgChart:
    name: (
        str  # as the PNG chart's: cases-by-stage, monthly-trend, clocks-by-agency, time-to-resolve
    )
    title: str
    alt: str
    svg: str


def _nice_max(value: float) -> int:
    """An axis top at or above `value`: 1, 2, 5 or 10 times a power of ten (at least 1)."""
    top = max(1.0, float(value))
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= top:
                return factor * step
        step *= 10


def _ticks(top: int) -> list[int]:
    step = max(1, top // 5)
    return list(range(0, top + 1, step))


def _text(x: float, y: float, text: str, cls: str = "chart-text", anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _open(chart_id: str, title: str, alt: str, height: int) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(alt)}</desc>',
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" class="chart-missed"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="chart-hatch"/></pattern>'
        "</defs>",
        _text(_W / 2, 20, title, "chart-title"),
    ]


def _y_axis(top: int, height: int, label: str) -> list[str]:
    plot = height - _TOP - _BOTTOM
    parts = [
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{height - _BOTTOM}" class="chart-axis"/>',
        f'<line x1="{_LEFT}" y1="{height - _BOTTOM}" x2="{_W - _RIGHT}" y2="{height - _BOTTOM}" '
        'class="chart-axis"/>',
    ]
    for tick in _ticks(top):
        y = height - _BOTTOM - plot * tick / top
        parts.append(
            f'<line x1="{_LEFT - 4}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" class="chart-grid"/>'
        )
        parts.append(_text(_LEFT - 6, y + 4, str(tick), "chart-text", "end"))
    parts.append(
        f'<text x="12" y="{_TOP + plot / 2:.1f}" class="chart-text" text-anchor="middle" '
        f'transform="rotate(-90 12 {_TOP + plot / 2:.1f})">{escape(label)}</text>'
    )
    return parts


def _legend(items: Sequence[tuple[str, str]], y: float) -> list[str]:
    parts, x = [], float(_LEFT)
    for cls, label in items:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="12" class="{cls}"/>')
        parts.append(_text(x + 16, y + 1, label, "chart-text", "start"))
        x += 24 + 7.5 * len(label)
    return parts


def _empty(height: int, text: str) -> str:
    return _text(_W / 2, height / 2, text, "chart-note")


def _rect(x: float, y: float, w: float, h: float, cls: str, label: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'class="{cls}"><title>{escape(label)}</title></rect>'
    )


def _by_stage(report: BoardReport, alt: str) -> str:
    rows = [r for r in report.by_stage if r.reached or r.track == report.default_track]
    height = 300
    parts = _open("cases-by-stage", "Cases by stage reached", alt, height)
    if not report.raised or not rows:
        parts.append(_empty(height, "No cases in this period"))
        return "".join([*parts, "</svg>"])
    top = _nice_max(max(max(r.reached, r.ended_resolved + r.ended_open) for r in rows))
    parts += _y_axis(top, height, "Cases")
    plot_h = height - _TOP - _BOTTOM
    slot = (_W - _LEFT - _RIGHT) / len(rows)
    bar = min(28.0, slot * 0.35)
    base = height - _BOTTOM
    for i, r in enumerate(rows):
        mid = _LEFT + slot * (i + 0.5)
        h_reached = plot_h * r.reached / top
        parts.append(
            _rect(
                mid - bar,
                base - h_reached,
                bar,
                h_reached,
                "chart-a",
                f"Stage {r.stage}: reached by {r.reached}",
            )
        )
        h_res = plot_h * r.ended_resolved / top
        h_open = plot_h * r.ended_open / top
        parts.append(
            _rect(
                mid,
                base - h_res,
                bar,
                h_res,
                "chart-b",
                f"Stage {r.stage}: {r.ended_resolved} resolved here",
            )
        )
        parts.append(
            _rect(
                mid,
                base - h_res - h_open,
                bar,
                h_open,
                "chart-c",
                f"Stage {r.stage}: {r.ended_open} open here",
            )
        )
        parts.append(_text(mid, base + 16, f"Stage {r.stage}"))
        parts.append(_text(mid, base + 30, r.name[:18], "chart-small"))
    parts += _legend(
        [("chart-a", "Reached"), ("chart-b", "Resolved here"), ("chart-c", "Open here")], height - 6
    )
    return "".join([*parts, "</svg>"])


def _monthly(report: BoardReport, alt: str) -> str:
    months = list(report.monthly)
    height = 280
    parts = _open("monthly-trend", "Monthly trend", alt, height)
    if not report.raised or not months:
        parts.append(_empty(height, "No cases in this period"))
        return "".join([*parts, "</svg>"])
    top = _nice_max(max(max(m.raised, m.resolved) for m in months))
    parts += _y_axis(top, height, "Cases")
    plot_h = height - _TOP - _BOTTOM
    slot = (_W - _LEFT - _RIGHT) / len(months)
    base = height - _BOTTOM
    every = max(1, len(months) // 8)
    for series, cls, marker in (
        ("raised", "chart-line-a", "chart-a"),
        ("resolved", "chart-line-b", "chart-b"),
    ):
        points = [
            (_LEFT + slot * (i + 0.5), base - plot_h * getattr(m, series) / top)
            for i, m in enumerate(months)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" class="{cls}"/>')
        for (x, y), m in zip(points, months, strict=True):
            label = f"{m.month}: {getattr(m, series)} {series}"
            shape = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="{marker}">'
                if series == "raised"
                else f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" class="{marker}">'
            )
            closing = "</circle>" if series == "raised" else "</rect>"
            parts.append(f"{shape}<title>{escape(label)}</title>{closing}")
    for i, m in enumerate(months):
        if i % every == 0:
            parts.append(_text(_LEFT + slot * (i + 0.5), base + 16, m.month, "chart-small"))
    parts += _legend([("chart-a", "Raised"), ("chart-b", "Resolved (dashed)")], height - 6)
    return "".join([*parts, "</svg>"])


def _clocks(report: BoardReport, alt: str) -> str:
    rows = list(report.clocks_by_agency)
    height = max(160, 30 * len(rows) + _TOP + _BOTTOM)
    parts = _open("clocks-by-agency", "Clocks met and missed, by agency", alt, height)
    if not rows:
        parts.append(_empty(height, "No clocks met or missed in this period"))
        return "".join([*parts, "</svg>"])
    left = 220
    top = _nice_max(max(r.met + r.missed for r in rows))
    width = _W - left - _RIGHT
    base = height - _BOTTOM
    parts.append(f'<line x1="{left}" y1="{_TOP}" x2="{left}" y2="{base}" class="chart-axis"/>')
    for tick in _ticks(top):
        x = left + width * tick / top
        parts.append(
            f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{base}" class="chart-grid"/>'
        )
        parts.append(_text(x, base + 14, str(tick)))
    parts.append(_text(left + width / 2, base + 30, "Clocks (deadlines)"))
    for i, r in enumerate(rows):
        y = _TOP + 30 * i + 6
        met_w = width * r.met / top
        missed_w = width * r.missed / top
        parts.append(_text(left - 6, y + 13, r.agency[:34], "chart-text", "end"))
        parts.append(_rect(left, y, met_w, 18, "chart-a", f"{r.agency}: {r.met} met"))
        parts.append(
            f'<rect x="{left + met_w:.1f}" y="{y:.1f}" width="{missed_w:.1f}" height="18" '
            f'fill="url(#clocks-by-agency-hatch)" class="chart-missed-bar">'
            f"<title>{escape(f'{r.agency}: {r.missed} missed')}</title></rect>"
        )
    parts += _legend([("chart-a", "Met"), ("chart-missed", "Missed (hatched)")], height - 4)
    return "".join([*parts, "</svg>"])


def _time_at_stage(report: BoardReport, alt: str) -> str:
    rows = [r for r in report.by_stage if r.days_at_stage.n]
    height = 280
    parts = _open("time-to-resolve", "Time at each stage (working days)", alt, height)
    if not rows:
        parts.append(_empty(height, "No stage completed in this period"))
        return "".join([*parts, "</svg>"])
    top = _nice_max(max(float(r.days_at_stage.max or 0) for r in rows))
    parts += _y_axis(top, height, "Working days at the stage")
    plot_h = height - _TOP - _BOTTOM
    slot = (_W - _LEFT - _RIGHT) / len(rows)
    base = height - _BOTTOM

    def y(value: float | None) -> float:
        return base - plot_h * float(value or 0) / top

    for i, r in enumerate(rows):
        s = r.days_at_stage
        mid = _LEFT + slot * (i + 0.5)
        half = min(24.0, slot * 0.3)
        label = (
            f"Stage {r.stage}: median {s.median:g}, middle half {s.q1:g} to {s.q3:g}, "
            f"range {s.min} to {s.max} ({s.n} visits)"
        )
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<line x1="{mid:.1f}" y1="{y(s.min):.1f}" x2="{mid:.1f}" y2="{y(s.max):.1f}" class="chart-whisker"/>'
            f'<line x1="{mid - half / 2:.1f}" y1="{y(s.min):.1f}" x2="{mid + half / 2:.1f}" y2="{y(s.min):.1f}" class="chart-whisker"/>'
            f'<line x1="{mid - half / 2:.1f}" y1="{y(s.max):.1f}" x2="{mid + half / 2:.1f}" y2="{y(s.max):.1f}" class="chart-whisker"/>'
            f'<rect x="{mid - half:.1f}" y="{y(s.q3):.1f}" width="{2 * half:.1f}" '
            f'height="{max(y(s.q1) - y(s.q3), 1):.1f}" class="chart-box"/>'
            f'<line x1="{mid - half:.1f}" y1="{y(s.median):.1f}" x2="{mid + half:.1f}" y2="{y(s.median):.1f}" class="chart-median"/>'
            "</g>"
        )
        parts.append(_text(mid, base + 16, f"Stage {r.stage}"))
        parts.append(_text(mid, base + 30, r.name[:18], "chart-small"))
    return "".join([*parts, "</svg>"])


_DRAW = {
    "cases-by-stage": _by_stage,
    "monthly-trend": _monthly,
    "clocks-by-agency": _clocks,
    "time-to-resolve": _time_at_stage,
}


def svg_charts(report: BoardReport, charts: Sequence[Chart] | None = None) -> list[SvgChart]:
    """The four charts in SVG, with the PNG charts' titles and alt text where given (else their
    own, from the same numbers)."""
    described = {c.name: c for c in charts or ()}
    out = []
    for name, draw in _DRAW.items():
        known = described.get(name)
        title = known.title if known is not None else _TITLES[name]
        alt = known.alt if known is not None else _alt(name, report)
        out.append(SvgChart(name, title, alt, draw(report, alt)))
    return out


_TITLES = {
    "cases-by-stage": "Cases by stage reached",
    "monthly-trend": "Monthly trend",
    "clocks-by-agency": "Clocks met and missed, by agency",
    "time-to-resolve": "Time at each stage (working days)",
}


def _alt(name: str, report: BoardReport) -> str:
    if name == "cases-by-stage":
        rows = [r for r in report.by_stage if r.reached or r.track == report.default_track]
        return f"Bar chart of the {report.raised} cases raised by stage: " + "; ".join(
            f"stage {r.stage} reached by {r.reached}" for r in rows
        )
    if name == "monthly-trend":
        months = [m.month for m in report.monthly]
        return (
            f"Line chart of cases raised and resolved each month from {months[0]} to {months[-1]}."
            if months
            else "Line chart of cases raised and resolved each month."
        )
    if name == "clocks-by-agency":
        met = sum(r.met for r in report.clocks_by_agency)
        missed = sum(r.missed for r in report.clocks_by_agency)
        return (
            f"Horizontal bar chart of deadlines met and missed by each agency; {met} met and "
            f"{missed} missed in all (a deadline both agencies own counts for each)."
        )
    rows = [r for r in report.by_stage if r.days_at_stage.n]
    return "Box plot of working days spent at each stage: " + (
        "; ".join(
            f"stage {r.stage} median {r.days_at_stage.median:g} "
            f"(range {r.days_at_stage.min} to {r.days_at_stage.max}, {r.days_at_stage.n} visits)"
            for r in rows
        )
        or "no stage completed"
    )
