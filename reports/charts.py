"""The report's charts as PNG images, drawn with matplotlib (Agg: no display needed).

matplotlib is imported inside `render_charts`, with the Agg backend chosen there and a private
config/cache folder (MPLCONFIGDIR) when none is set, so importing this module costs nothing and
a read-only home directory cannot make matplotlib warn.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reports.figures import BoardReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Chart", "render_charts"]

# Colour-blind-safe (Okabe-Ito) colours that stay distinct in greyscale print.
_BLUE = "#0072B2"
_ORANGE = "#E69F00"
_GREEN = "#009E73"
_RED = "#D55E00"
_GREY = "#999999"


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: cases-by-stage, monthly-trend, clocks-by-agency, time-to-resolve
    title: str
    alt: str  # a sentence for screen readers and when the image does not show
    png: bytes


def _matplotlib() -> Any:
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "sab-matplotlib"))
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "figure.dpi": 100,
        }
    )
    return plt


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No creation time or software stamp: the same figures give the same bytes.
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def render_charts(report: BoardReport) -> list[Chart]:
    plt = _matplotlib()
    charts: list[Chart] = []
    try:
        charts.append(_by_stage(plt, report))
        charts.append(_monthly(plt, report))
        charts.append(_clocks(plt, report))
        charts.append(_time_to_resolve(plt, report))
    finally:
        plt.close("all")
    return charts


def _empty(ax: Any, text: str = "No cases in this period") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=_GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def _by_stage(plt: Any, report: BoardReport) -> Chart:
    rows = [r for r in report.by_stage if r.reached or r.track == "main"]
    labels = [f"{r.stage}\n{r.name}" for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.6))
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
        ax.set_ylabel("Cases")
        ax.legend(frameon=False, ncols=3, loc="upper right")
    else:
        _empty(ax)
    ax.set_title("Cases by stage reached")
    fig.tight_layout()
    png = _png(fig)
    most = max(rows, key=lambda r: r.ended_resolved, default=None)
    alt = (
        f"Bar chart of the {report.raised} cases raised by stage: "
        + "; ".join(f"stage {r.stage} reached by {r.reached}" for r in rows)
        + (f". Most were resolved at stage {most.stage}." if most and most.ended_resolved else ".")
    )
    return Chart("cases-by-stage", "Cases by stage reached", alt, png)


def _monthly(plt: Any, report: BoardReport) -> Chart:
    months = [m.month for m in report.monthly]
    fig, ax = plt.subplots(figsize=(7, 3.2))
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
        ax.set_ylabel("Cases")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)
        if len(months) > 6:
            ax.tick_params(axis="x", labelrotation=45)
    else:
        _empty(ax)
    ax.set_title("Monthly trend")
    fig.tight_layout()
    png = _png(fig)
    peak = max(report.monthly, key=lambda m: m.raised, default=None)
    alt = f"Line chart of cases raised and resolved each month from {months[0]} to {months[-1]}" + (
        f"; the most raised in a month was {peak.raised} ({peak.month})." if peak else "."
    )
    return Chart("monthly-trend", "Monthly trend", alt, png)


def _clocks(plt: Any, report: BoardReport) -> Chart:
    rows = list(report.clocks_by_agency)
    fig, ax = plt.subplots(figsize=(7, max(2.4, 0.42 * len(rows) + 1.2)))
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
        ax.set_xlabel("Clocks (deadlines)")
        ax.legend(frameon=False, ncols=2, loc="lower right")
    else:
        _empty(ax, "No clocks met or missed in this period")
    ax.set_title("Clocks met and missed, by agency")
    fig.tight_layout()
    png = _png(fig)
    total_met = sum(r.met for r in rows)
    total_missed = sum(r.missed for r in rows)
    alt = (
        f"Horizontal bar chart of deadlines met and missed by each agency; {total_met} met and "
        f"{total_missed} missed in all (a deadline both agencies own counts for each)."
    )
    return Chart("clocks-by-agency", "Clocks met and missed, by agency", alt, png)


def _time_to_resolve(plt: Any, report: BoardReport) -> Chart:
    rows = [r for r in report.by_stage if r.days_at_stage.n]
    fig, ax = plt.subplots(figsize=(7, 3.4))
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
        ax.set_ylabel("Working days at the stage")
        ax.set_ylim(bottom=0)
    else:
        _empty(ax, "No stage completed in this period")
    ax.set_title("Time at each stage (working days)")
    fig.tight_layout()
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
