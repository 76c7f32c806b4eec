"""Reminders about a deadline: early warning, due today, overdue, and overdue to a manager."""

from __future__ import annotations

from typing import Literal

from cards.case_card import escalate_form, risk_block, summary_blocks
from cards.elements import Json, card, case_data, execute, sentence, text
from cards.views import ESCALATE, REFRESH, CaseView, ClockView

NudgeKind = Literal["early_warning", "due_today", "overdue", "overdue_manager", "stage_reminder"]
NUDGE_KINDS: tuple[NudgeKind, ...] = (
    "early_warning",
    "due_today",
    "overdue",
    "overdue_manager",
    "stage_reminder",
)


def _find(view: CaseView, clock: str) -> ClockView | None:
    return next((c for c in view.clocks if c.label == clock), None) or next(
        (c for c in view.clocks if c.clock == clock), None
    )


def _message(view: CaseView, label: str, found: ClockView | None, kind: NudgeKind) -> str:
    if kind == "stage_reminder":  # a stage with no deadline of its own: the case still waits
        onward = (
            f", or escalate to {view.words.stage} {view.escalates_to.id}"
            if view.escalates_to is not None
            else ""
        )
        return (
            f"Reminder: case {view.case_id} is waiting at {view.words.stage} {view.stage.id} "
            f"({view.stage.name}). Record where it stands, resolve it{onward}."
        )
    due = f" {found.due}" if found is not None else ""
    if kind == "early_warning":
        return f"Due soon: {label}, due{due}."
    if kind == "due_today":
        at = f" at {found.due_at:%H:%M}" if found is not None else ""
        return f"Due today{at}: {label}."
    escalate = (
        f" If it is not resolved, escalate to {view.words.stage} {view.escalates_to.id} now."
        if view.escalates_to is not None
        else ""
    )
    if kind == "overdue":
        return f"Overdue: {label} was due{due}.{escalate}"
    return f"For your attention as a manager: on case {view.case_id}, {label} was due{due} and is overdue.{escalate}"


def nudge_card(view: CaseView, clock_label: str, kind: NudgeKind) -> Json:
    """A reminder that leads with the risk; an overdue one offers Escalate where the viewer may."""
    if kind not in NUDGE_KINDS:
        raise ValueError(f"unknown nudge kind {kind!r}")
    found = _find(view, clock_label)
    label = found.label if found is not None else clock_label
    message = _message(view, label, found, kind)
    body: list[Json] = [risk_block(view), text(message, weight="bolder", separator=True)]
    body += summary_blocks(view)
    actions: list[Json] = []
    onward = ("overdue", "overdue_manager", "stage_reminder")
    if kind in onward and view.may(ESCALATE) and view.escalates_to:
        actions.append(escalate_form(view))
    actions.append(
        execute("Open the case", REFRESH, case_data(view.case_id, view.version, REFRESH))
    )
    urgent = "IMMEDIATE RISK: " if view.immediate_risk else ""
    where = f"Case {view.case_id}, {view.words.stage} {view.stage.id} ({view.stage.short})"
    spoken = "Immediate risk of significant harm. " if view.immediate_risk else ""
    risk = f"Risk to {view.words.the_person}: {sentence(view.risk_to_adult or 'not recorded yet')}"
    return card(
        body,
        fallback_text=f"{urgent}{where}. {message}",
        speak=f"{spoken}{where}. {message} {risk}",
        actions=actions,
    )
