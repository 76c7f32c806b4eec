"""A case's history in plain words, for the person looking at it: what happened, who did it and
when, and every deadline with whether it was met.

It is shown at the viewer's level (escalation.access): the full view names people; the board's
copy names agencies only, as the copy card does. Neither quotes what anyone typed (the issue, a
record's text, a reason, a question, a recommendation): the case card and the case record hold
those. Times are in the board's local time, in UK style ("Wed 25 Nov 2026, 14:00").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from escalation.access import ViewLevel
from escalation.calendar import calendar_for
from escalation.case import Case, ClockState, ClockStatus
from escalation.directory import Directory
from escalation.events import Event
from escalation.policy import PolicyPack
from escalation.rules.context import SYSTEM

__all__ = ["ClockLine", "TimelineEntry", "case_clocks", "case_timeline", "uk_time"]


def uk_time(moment: datetime, tz: tzinfo) -> str:
    """'Wed 25 Nov 2026, 14:00' in the board's zone."""
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime  # aware, in the board's zone
    when: str  # in words
    who: str  # a name (full view), an agency (copy), or "" when nobody is named
    what: str  # plain words, never typed text
    kind: str  # the event's type, or "clock-met", "clock-missed", "clock-ended"


@dataclass(frozen=True)
class ClockLine:
    stage: str
    label: str
    due: str  # the deadline that applies, in words
    status: str  # met, missed, ended, running, overdue, waiting
    stopped: str  # when it stopped, in words ("" while it runs)

    @property
    def describe(self) -> str:
        if self.status == "met":
            return f"met on {self.stopped} (due {self.due})"
        if self.status == "missed":
            return f"missed: done {self.stopped}, due {self.due}"
        if self.status == "ended":
            return "ended: the case moved on before it fell due"
        if self.status == "overdue":
            return f"overdue since {self.due}"
        if self.status == "waiting":
            return f"starts only if an earlier deadline is missed; then due {self.due}"
        return f"due {self.due}"


class _Words:
    def __init__(
        self, case: Case, pack: PolicyPack, directory: Directory, level: ViewLevel, tz: tzinfo
    ) -> None:
        self.case, self.pack, self.directory, self.level, self.tz = (
            case,
            pack,
            directory,
            level,
            tz,
        )
        self.full = level == ViewLevel.FULL

    def agency(self, agency_id: str) -> str:
        found = self.pack.agency(agency_id)
        return found.name if found is not None else agency_id

    def stage(self, stage_id: str) -> str:
        return self.pack.stage_title(stage_id)

    def clock(self, stage_id: str, clock_id: str) -> str:
        for clock in self.case.clocks:
            if (clock.stage, clock.clock) == (stage_id, clock_id):
                return clock.label
        return clock_id

    def person(self, person_id: str) -> str:
        """Who did it: a name in the full view; in the copy, their agency where known."""
        if person_id == SYSTEM:
            return "the bot"
        found = self.directory.person(person_id)
        party = next((p for p in self.case.parties if p.person_id == person_id), None)
        if not self.full:
            agency_id = party.agency_id if party is not None else None
            if agency_id is None and found is not None:
                agency_id = found.agency_id if found.agency_id in self.case.party_agencies else None
            return self.agency(agency_id) if agency_id else ""
        if found is not None:
            return found.name
        return party.name if party is not None else person_id

    def people(self, person_ids: Sequence[str]) -> str:
        names = [n for n in (self.person(p) for p in person_ids) if n]
        return ", ".join(dict.fromkeys(names))

    def when_text(self, value: Any) -> str:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return uk_time(moment, self.tz) if moment.tzinfo is not None else str(value)


def _get(event: Event, key: str) -> str:
    value = event.data.get(key)
    return "" if value is None else str(value)


def _raised(w: _Words, event: Event) -> str:
    receiver = event.data.get("receiver")
    other: Mapping[str, Any] = receiver if isinstance(receiver, Mapping) else {}
    agency = w.agency(str(other.get("agency_id", "")))
    whom = f"{other.get('name', '')}, {agency}" if w.full and other.get("name") else agency
    risk = (
        f" The {w.pack.words.person} was said to be at immediate risk."
        if event.data.get("immediate_risk")
        else ""
    )
    return f"Raised the disagreement with {whom}.{risk}"


def _signpost(w: _Words, event: Event) -> str:
    found = w.pack.signpost(_get(event, "signpost"))
    return f"Was shown the guidance: {found.title if found else _get(event, 'signpost')}."


def _stage_entered(w: _Words, event: Event) -> str:
    stage = w.stage(_get(event, "stage"))
    opened = event.data.get("trigger_at") is None and _get(event, "reason") in ("", "raised")
    text = f"The case opened at {stage}." if opened else f"Escalated to {stage}."
    if event.data.get("policy_issue"):
        text += " A significant policy issue."
    return text


def _clock_started(w: _Words, event: Event) -> str:
    label = w.clock(_get(event, "stage"), _get(event, "clock"))
    return f"Deadline set: {label}, due {w.when_text(_get(event, 'due'))}."


def _protective(w: _Words, event: Event) -> str:
    label = w.clock(_get(event, "stage"), _get(event, "clock"))
    return (
        f"Set an earlier deadline to protect the {w.pack.words.person}: {label}, now due "
        f"{w.when_text(_get(event, 'due'))}."
    )


def _discussion(w: _Words, event: Event) -> str:
    outcome = _get(event, "outcome").replace("_", " ")
    return f"Recorded discussion {_get(event, 'record_id')} (outcome: {outcome})."


def _record_approved(w: _Words, event: Event) -> str:
    return f"Approved the record of discussion {_get(event, 'record_id')}."


def _outcome_confirmed(w: _Words, event: Event) -> str:
    return f"Confirmed the agreed outcome in writing at {w.stage(_get(event, 'stage'))}."


def _outcome_approved(w: _Words, event: Event) -> str:
    return "Approved the outcome: the case is resolved."


def _advice(w: _Words, event: Event) -> str:
    advisers = event.data.get("advisers")
    named = w.people([str(a) for a in advisers]) if w.full and isinstance(advisers, list) else ""
    return f"Asked {named} for advice." if named else "Asked for advice."


def _recommendations(w: _Words, event: Event) -> str:
    items = event.data.get("recommendations")
    count = len(items) if isinstance(items, list) else 0
    binding = "binding" if event.data.get("binding") else "not binding"
    plural = "" if count == 1 else "s"
    return f"Recorded {count} recommendation{plural} ({binding})."


def _response(w: _Words, event: Event) -> str:
    response = _get(event, "response").replace("_", " ")
    return f"{w.agency(_get(event, 'agency_id'))} responded to the recommendations: {response}."


def _panel(w: _Words, event: Event) -> str:
    agencies = event.data.get("agency_ids")
    names = [w.agency(str(a)) for a in agencies] if isinstance(agencies, list) else []
    return (
        f"Convened the resolution panel ({'; '.join(names)})." if names else "Convened the panel."
    )


def _representation(w: _Words, event: Event) -> str:
    return f"Made a representation to the panel for {w.agency(_get(event, 'agency_id'))}."


def _decision(w: _Words, event: Event) -> str:
    return "Recorded the panel's decision."


def _closed(w: _Words, event: Event) -> str:
    return "Closed the case."


def _delivery(w: _Words, event: Event) -> str:
    return "A message about the case could not be delivered in Teams: to be passed on by hand."


_DESCRIBE: dict[str, Callable[[_Words, Event], str]] = {
    "CaseRaised": _raised,
    "SignpostShown": _signpost,
    "StageEntered": _stage_entered,
    "ClockStarted": _clock_started,
    "ProtectiveDeadlineSet": _protective,
    "DiscussionRecorded": _discussion,
    "RecordApproved": _record_approved,
    "OutcomeConfirmed": _outcome_confirmed,
    "OutcomeApproved": _outcome_approved,
    "AdviceRequested": _advice,
    "RecommendationsRecorded": _recommendations,
    "AgencyResponseRecorded": _response,
    "PanelConvened": _panel,
    "RepresentationRecorded": _representation,
    "PanelDecisionRecorded": _decision,
    "CaseClosed": _closed,
    "DeliveryFailed": _delivery,
}

_STOPPED = {
    ClockStatus.MET.value: ("clock-met", "Met the deadline"),
    ClockStatus.MISSED.value: ("clock-missed", "Missed the deadline"),
    ClockStatus.ENDED.value: ("clock-ended", "Deadline ended with the stage"),
}


def _stopped(w: _Words, event: Event) -> tuple[str, str]:
    kind, words = _STOPPED.get(_get(event, "status"), ("clock-ended", "Deadline stopped"))
    label = w.clock(_get(event, "stage"), _get(event, "clock"))
    return kind, f"{words}: {label} ({w.stage(_get(event, 'stage'))})."


def case_timeline(
    case: Case,
    events: Sequence[Event],
    pack: PolicyPack,
    directory: Directory,
    level: ViewLevel,
) -> list[TimelineEntry]:
    """The case's events, oldest first, in words at `level` (nothing for no view)."""
    if level == ViewLevel.NONE:
        return []
    tz = calendar_for(pack).tz
    w = _Words(case, pack, directory, level, tz)
    entries = []
    for event in events:
        if event.type == "ClockStopped":
            kind, what = _stopped(w, event)
            who = ""  # a clock stops by what happened on the case, not by someone stopping it
        else:
            describe = _DESCRIBE.get(event.type)
            kind = event.type
            what = describe(w, event) if describe is not None else "The case was updated."
            who = w.person(event.author)
        local = event.at.astimezone(tz)
        entries.append(TimelineEntry(local, uk_time(event.at, tz), who, what, kind))
    return entries


def _clock_status(case: Case, clock: ClockState, now: datetime) -> str:
    if clock.status != ClockStatus.RUNNING:
        return clock.status.value
    if clock.waiting(now):
        return "waiting"
    if case.lapsed(clock, now):
        return "ended"
    return "overdue" if clock.is_overdue(now) else "running"


def case_clocks(case: Case, pack: PolicyPack, now: datetime) -> list[ClockLine]:
    """Every deadline the case has had, in the order they started (a clock called off before it
    started is left out): the same facts at every view level, as the copy card shows them."""
    tz = calendar_for(pack).tz
    lines = []
    for clock in case.clocks:
        if clock.never_started:
            continue
        stopped = clock.stopped_at
        lines.append(
            ClockLine(
                stage=clock.stage,
                label=clock.label,
                due=uk_time(clock.effective_due, tz),
                status=_clock_status(case, clock, now),
                stopped=uk_time(stopped, tz) if stopped is not None else "",
            )
        )
    return lines
