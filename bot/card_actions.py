"""From a card's action (a verb, ids, a version and the form's inputs) to a command for the core.

A card carries nothing of the case but its id and version: everything else is loaded from
storage, and the core decides whether the person may do it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from cards.case_card import FORM_FIELDS, form_values, input_id, milestone_note_id
from cards.views import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REFRESH,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
)
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    RecordAgencyResponse,
    RecordDiscussion,
    RecordMilestone,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.moments import MomentError, moment_at

CaseActionCommand = (
    RecordDiscussion
    | ApproveRecord
    | Escalate
    | SetProtectiveDeadline
    | AskSafeguardingLead
    | RecordMilestone
    | ConfirmOutcome
    | ApproveOutcome
    | RecordRecommendations
    | ConvenePanel
    | RecordPanelDecision
    | RecordRepresentation
    | RecordAgencyResponse
    | CloseCase
)


# A case id as the core makes them (RB-2026-K7QX2M); anything else names no case, and must not
# reach storage, whose keys refuse slashes, # ? and control characters.
CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class CardActionError(ValueError):
    """An action that cannot be understood: nothing is changed and the person is told why."""


class CardAction:
    """What a card action asks for, read from its data."""

    def __init__(self, verb: str, data: Mapping[str, Any]) -> None:
        self.verb = verb
        self.data = data
        case_id = data.get("case_id")
        if not isinstance(case_id, str) or not CASE_ID.fullmatch(case_id):
            raise CardActionError("This card does not name a case.")
        self.case_id = case_id
        version = data.get("version")
        self.version: int | None = None
        if verb != REFRESH:
            self.version = _version(version)


def _version(value: object) -> int:
    """The case version a card shows: a whole number (an int, or digits as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise CardActionError("This card does not say which version of the case it shows.")


def _flag(value: str | None) -> bool:
    """An Input.Toggle's value: "true" when ticked."""
    return (value or "false").strip().lower() == "true"


def parse_action(value: object) -> CardAction:
    """An `adaptiveCard/action` invoke's value, or an Action.Submit's value."""
    if not isinstance(value, Mapping):
        raise CardActionError("The card sent nothing I understand.")
    action = value.get("action")
    if isinstance(action, Mapping):  # Action.Execute
        verb, data = action.get("verb"), action.get("data")
    else:  # the Action.Submit fallback puts the verb in the data
        verb, data = value.get("verb"), value
    if not isinstance(verb, str) or not isinstance(data, Mapping):
        raise CardActionError("The card's action has no verb.")
    return CardAction(verb, data)


def _form(verb: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The form's inputs, each as the text a card sends; anything else is refused, not stored
    as Python's text for it (a list would become "['a']")."""
    for field in FORM_FIELDS.get(verb, ()):
        value = data.get(input_id(verb, field))
        if value is not None and not isinstance(value, str):
            label = field.replace("_", " ")
            raise CardActionError(f"The card sent the {label} in a form I cannot read.")
    return form_values(verb, data)


def _moment(day: str | None, at: str | None, tz: ZoneInfo, what: str) -> datetime:
    """A card's date and time inputs, which come apart; read in the board's zone as every
    moment people give is (escalation.moments)."""
    try:
        parsed_day = date.fromisoformat(day or "")
        parsed_time = time.fromisoformat(at or "")
    except ValueError:
        raise CardActionError(f"Give the {what} as a date and a time.") from None
    try:
        return moment_at(parsed_day, parsed_time, tz)
    except MomentError as exc:
        raise CardActionError(f"The {what} {exc}.") from None


def _split(text: str | None, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(separator) if part.strip())


def command_for(action: CardAction, actor_id: str, tz: ZoneInfo) -> CaseActionCommand:
    verb, case_id, version = action.verb, action.case_id, action.version
    form = _form(verb, action.data)
    common: dict[str, Any] = {"actor_id": actor_id, "case_id": case_id, "expected_version": version}
    if verb == RECORD:
        return RecordDiscussion(
            **common,
            held_at=_moment(
                form.get("held_date"), form.get("held_time"), tz, "time of the discussion"
            ),
            participants=_split(form.get("participants"), ","),
            method=form.get("method", "meeting"),
            summary=form.get("summary", ""),
            points_of_difference=form.get("points_of_difference", ""),
            outcome=form.get("outcome", ""),  # type: ignore[arg-type]  # the core checks it
            agreed_outcome=form.get("agreed_outcome", ""),
            outstanding_issues=form.get("outstanding_issues", ""),
            basis_of_decision=form.get("basis_of_decision", ""),
        )
    if verb == APPROVE_RECORD:
        record_id = action.data.get("record_id")
        if not isinstance(record_id, str):
            raise CardActionError("This card does not say which record to approve.")
        return ApproveRecord(**common, record_id=record_id)
    if verb == ESCALATE:
        return Escalate(
            **common,
            reason=form.get("reason", ""),
            aim=form.get("aim", ""),
            evidence=form.get("evidence", ""),
            evidence_source=form.get("evidence_source", ""),
            policy_issue=_flag(form.get("policy_issue")),
        )
    if verb == SET_DEADLINE:
        return SetProtectiveDeadline(
            **common,
            clock_id=form.get("clock", ""),
            due=_moment(form.get("date"), form.get("time"), tz, "deadline"),
            reason=form.get("reason", ""),
        )
    if verb == ASK_LEAD:
        return AskSafeguardingLead(**common, question=form.get("question", ""))
    if verb == CONFIRM_OUTCOME:
        return ConfirmOutcome(
            **common,
            outcome=form.get("outcome", ""),
            outstanding_issues=form.get("outstanding_issues", ""),
        )
    if verb == APPROVE_OUTCOME:
        return ApproveOutcome(**common)
    if verb == RECOMMEND:
        return RecordRecommendations(
            **common, recommendations=_split(form.get("recommendations"), "\n")
        )
    if verb == CONVENE_PANEL:
        return ConvenePanel(**common, agency_ids=_split(form.get("agency_ids"), ","))
    if verb == DECIDE:
        return RecordPanelDecision(**common, decision=form.get("decision", ""))
    if verb == REPRESENT:
        return RecordRepresentation(
            **common, agency_id=form.get("agency", ""), summary=form.get("summary", "")
        )
    if verb == RESPOND:
        return RecordAgencyResponse(
            **common,
            agency_id=form.get("agency", ""),
            response=form.get("response", ""),  # type: ignore[arg-type]  # the core checks it
            detail=form.get("detail", ""),
        )
    if verb == MILESTONE:
        clock_id = action.data.get("clock_id")
        if not isinstance(clock_id, str) or not clock_id:
            raise CardActionError("This card does not say what to record.")
        note = action.data.get(milestone_note_id(clock_id))
        if note is not None and not isinstance(note, str):
            raise CardActionError("The card sent the note in a form I cannot read.")
        return RecordMilestone(**common, clock_id=clock_id, note=note or "")
    if verb == CLOSE:
        return CloseCase(
            **common,
            summary=form.get("summary", ""),
            learning_points=_split(form.get("learning_points"), "\n"),
            policy_gaps=_split(form.get("policy_gaps"), "\n"),
            debrief_offered=_flag(form.get("debrief_offered")),
        )
    raise CardActionError(f"I do not know the action {verb!r}.")
