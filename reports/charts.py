"""The report's charts as PNG images, drawn with matplotlib's object API on the Agg canvas.

The report page draws charts in worker threads, several at once. pyplot keeps global state (its
figure list, the current figure, rcParams) and is not thread-safe, so it is never imported here:
each chart is its own `Figure` on its own `FigureCanvasAgg`, and the style is given to each
artist rather than set in the global rcParams. matplotlib is imported only when a chart is
drawn, with a private config/cache folder (MPLCONFIGDIR) when none is set, so importing this
module costs nothing and a read-only home directory cannot make matplotlib warn.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reports.figures import BoardReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Chart", "render_charts"]

# Colour-blind-safe (Okabe-Ito) colours that stay distinct in greyscale print.
_BLUE = "#0072B2"
_ORANGE = "#E69F00"
_GREEN = "#009E73"
_RED = "#D55E00"
_GREY = "#999999"

_FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs on every machine
_FONT_SIZE = 9
_DPI = 150


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: cases-by-stage, monthly-trend, clocks-by-agency, time-to-resolve
    title: str
    alt: str  # a sentence for screen readers and when the image does not show
    png: bytes


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure on its own Agg canvas, with one styled axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=_FONT_SIZE, labelfontfamily=_FONT)
    return fig, ax


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=_FONT_SIZE * 1.2, fontweight="bold", fontfamily=_FONT)


def _label(ax: Axes, *, x: str | None = None, y: str | None = None) -> None:
    if x is not None:
        ax.set_xlabel(x, fontsize=_FONT_SIZE, fontfamily=_FONT)
    if y is not None:
        ax.set_ylabel(y, fontsize=_FONT_SIZE, fontfamily=_FONT)


def _legend(ax: Axes, **options: Any) -> None:
    ax.legend(frameon=False, prop={"family": _FONT, "size": _FONT_SIZE}, **options)


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    # No creation time or software stamp: the same figures give the same bytes.
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def render_charts(report: BoardReport) -> list[Chart]:
    """The four charts of a report. Safe to call from several threads at once."""
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "sab-matplotlib"))
    return [_by_stage(report), _monthly(report), _clocks(report), _time_to_resolve(report)]


def _empty(ax: Axes, text: str = "No cases in this period") -> None:
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        color=_GREY,
        fontsize=_FONT_SIZE,
        fontfamily=_FONT,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _by_stage(report: BoardReport) -> Chart:
    rows = [r for r in report.by_stage if r.reached or r.track == report.default_track]
    labels = [f"{r.stage}\n{r.name}" for r in rows]
    fig, ax = _figure(7, 3.6)
    if report.raised:
        x = range(len(rows))
        width = 0.4
        ax.bar(
            [i - width / 2 for i in x],
            [r.reached for r in rows],
            width,
            label="Reached",
            color=_BLUE,
        )
        ax.bar(
            [i + width / 2 for i in x],
            [r.ended_resolved for r in rows],
            width,
            label="Resolved here",
            color=_GREEN,
            hatch="//",
            edgecolor="white",
        )
        ax.bar(
            [i + width / 2 for i in x],
            [r.ended_open for r in rows],
            width,
            bottom=[r.ended_resolved for r in rows],
            label="Open here",
            color=_ORANGE,
        )
        ax.set_xticks(list(x), labels)
        _label(ax, y="Cases")
        _legend(ax, ncols=3, loc="upper right")
    else:
        _empty(ax)
    _title(ax, "Cases by stage reached")
    png = _png(fig)
    most = max(rows, key=lambda r: r.ended_resolved, default=None)
    alt = (
        f"Bar chart of the {report.raised} cases raised by stage: "
        + "; ".join(f"stage {r.stage} reached by {r.reached}" for r in rows)
        + (f". Most were resolved at stage {most.stage}." if most and most.ended_resolved else ".")
    )
    return Chart("cases-by-stage", "Cases by stage reached", alt, png)


def _monthly(report: BoardReport) -> Chart:
    months = [m.month for m in report.monthly]
    fig, ax = _figure(7, 3.2)
    if report.raised:
        ax.plot(months, [m.raised for m in report.monthly], marker="o", color=_BLUE, label="Raised")
        ax.plot(
            months,
            [m.resolved for m in report.monthly],
            marker="s",
            linestyle="--",
            color=_GREEN,
            label="Resolved",
        )
        _label(ax, y="Cases")
        ax.set_ylim(bottom=0)
        _legend(ax)
        if len(months) > 6:
            ax.tick_params(axis="x", labelrotation=45)
    else:
        _empty(ax)
    _title(ax, "Monthly trend")
    png = _png(fig)
    peak = max(report.monthly, key=lambda m: m.raised, default=None)
    alt = f"Line chart of cases raised and resolved each month from {months[0]} to {months[-1]}" + (
        f"; the most raised in a month was {peak.raised} ({peak.month})." if peak else "."
    )
    return Chart("monthly-trend", "Monthly trend", alt, png)


def _clocks(report: BoardReport) -> Chart:
    rows = list(report.clocks_by_agency)
    fig, ax = _figure(7, max(2.4, 0.42 * len(rows) + 1.2))
    if rows:
        y = list(range(len(rows)))[::-1]
        ax.barh(y, [r.met for r in rows], color=_BLUE, label="Met")
        ax.barh(
            y,
            [r.missed for r in rows],
            left=[r.met for r in rows],
            color=_RED,
            hatch="xx",
            edgecolor="white",
            label="Missed",
        )
        ax.set_yticks(y, [r.agency for r in rows])
        _label(ax, x="Clocks (deadlines)")
        _legend(ax, ncols=2, loc="lower right")
    else:
        _empty(ax, "No clocks met or missed in this period")
    _title(ax, "Clocks met and missed, by agency")
    png = _png(fig)
    total_met = sum(r.met for r in rows)
    total_missed = sum(r.missed for r in rows)
    alt = (
        f"Horizontal bar chart of deadlines met and missed by each agency; {total_met} met and "
        f"{total_missed} missed in all (a deadline both agencies own counts for each)."
    )
    return Chart("clocks-by-agency", "Clocks met and missed, by agency", alt, png)


def _time_to_resolve(report: BoardReport) -> Chart:
    rows = [r for r in report.by_stage if r.days_at_stage.n]
    fig, ax = _figure(7, 3.4)
    if rows:
        stats: list[dict[str, Any]] = [
            {
                "label": f"{r.stage}\n{r.name}",
                "med": r.days_at_stage.median,
                "q1": r.days_at_stage.q1,
                "q3": r.days_at_stage.q3,
                "whislo": r.days_at_stage.min,
                "whishi": r.days_at_stage.max,
                "fliers": [],
            }
            for r in rows
        ]
        ax.bxp(
            stats,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#cfe3f2", "edgecolor": _BLUE},
            medianprops={"color": _RED, "linewidth": 2},
        )
        _label(ax, y="Working days at the stage")
        ax.set_ylim(bottom=0)
    else:
        _empty(ax, "No stage completed in this period")
    _title(ax, "Time at each stage (working days)")
    png = _png(fig)
    alt = "Box plot of working days spent at each stage: " + (
        "; ".join(
            f"stage {r.stage} median {r.days_at_stage.median:g} "
            f"(range {r.days_at_stage.min} to {r.days_at_stage.max}, {r.days_at_stage.n} visits)"
            for r in rows
        )
        or "no stage completed"
    )
    return Chart("time-to-resolve", "Time at each stage (working days)", alt, png)
