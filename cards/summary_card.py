"""The board's headline figures as a card: for a board role's "summary" and the monthly copy."""

from __future__ import annotations

from cards.elements import Json, card, facts, heading, text
from reports.figures import BoardReport


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "n/a"


def summary_card(report: BoardReport, *, title: str, report_url: str | None = None) -> Json:
    """Counts only: no adult, person or case text (the report's own rule)."""
    met = sum(row.met for row in report.clocks_by_stage)
    missed = sum(row.missed for row in report.clocks_by_stage)
    median = report.days_to_resolve.median
    body: list[Json] = [
        heading(title),
        text(
            f"{report.board_name}, cases raised {report.start:%d %b %Y} to {report.end:%d %b %Y}."
        ),
        facts(
            [
                ("Cases raised", str(report.raised)),
                ("Immediate risk", str(report.immediate_risk)),
                ("Open", str(report.open)),
                ("Resolved or closed", str(report.resolved + report.closed)),
                (report.senior_label, str(report.reached_senior)),
                ("Deadlines met", f"{met} of {met + missed} ({_percent(met, met + missed)})"),
                (
                    "Working days to resolve (median)",
                    "n/a" if median is None else f"{median:g}",
                ),
                ("Panels convened", str(report.panels_convened)),
                (
                    f"{report.recommender[0].upper()}{report.recommender[1:]}'s recommendations",
                    str(report.recommendations_made),
                ),
                ("Learning points raised", str(report.learning_points)),
                ("Debriefs offered", str(report.debriefs_offered)),
            ]
        ),
    ]
    if report.synthetic:
        body.insert(1, text("SYNTHETIC sample data, not real cases.", weight="bolder"))
    actions: list[Json] = []
    if report_url:
        actions.append(
            {"type": "Action.OpenUrl", "title": "Open the full report", "url": report_url}
        )
    return card(
        body,
        fallback_text=f"{title}: {report.raised} cases raised",
        speak=f"{title}. {report.raised} cases raised.",
        actions=actions,
    )
