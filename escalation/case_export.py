"""The case export for the adult's file: a case's whole history as one Markdown document.

The record holds the case's details, its chronology (every event, in order), every discussion in
full with its approvals, every deadline and whether it was met, the outcomes, who has seen the
case (the access log, when given), and a line that says whether the history's hash chain verifies, so a reader can tell the record is complete and
unchanged (RB-2.1, RB-4.3). Times are local to the board's calendar (Europe/London).

Free text is escaped so that nothing a person typed can break a table or turn into markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalation.access_log import AccessEntry
from escalation.calendar import calendar_for
from escalation.case import Case, ClockState, ClockStatus, ConfirmedOutcome, DiscussionRecord
from escalation.directory import Directory
from escalation.events import Event, verify_chain
from escalation.policy import PolicyPack

__all__ = ["case_record_markdown"]

NOT_RECORDED = "not recorded"

# -- escaping -------------------------------------------------------------------------------------

# Markdown punctuation that can change how text renders; `|` would end a table cell.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
# An HTML entity (`&lt;`) would render as the character it names, not as typed.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _md(text: str) -> str:
    """Free text as inline Markdown: special characters escaped, line breaks kept as <br>."""
    escaped = _ENTITY.sub(r"\\&", _SPECIAL.sub(r"\\\1", text.strip()))
    return _NEWLINE.sub("<br>", escaped)


def _row(*cells: str) -> str:
    return "| " + " | ".join(_md(cell) or "—" for cell in cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [_row(*header), "|" + "---|" * len(header), *(_row(*row) for row in rows)]


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _words(code: str) -> str:
    return code.replace("_", " ")


def _sentence(text: str) -> str:
    """Free text that ends as a sentence, so the next one does not run into it."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


# -- what the record needs to name things ---------------------------------------------------------


@dataclass(frozen=True)
class _View:
    case: Case
    events: Sequence[Event]
    pack: PolicyPack
    directory: Directory
    tz: ZoneInfo
    generated_at: datetime
    access: Sequence[AccessEntry] | None = None

    def when(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%a %d %b %Y %H:%M %Z")

    def when_text(self, value: Any) -> str:
        """A time stored in an event as ISO text; shown as stored if it does not parse."""
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return self.when(moment) if moment.tzinfo is not None else str(value)

    def person(self, person_id: str) -> str:
        """A person's name; an id the directory does not know ("system") is shown as it is."""
        found = self.directory.person(person_id)
        return found.name if found is not None else person_id

    def people(self, person_ids: Iterable[str]) -> str:
        return ", ".join(self.person(p) for p in person_ids)

    def agency(self, agency_id: str) -> str:
        found = self.pack.agency(agency_id)
        return found.name if found is not None else agency_id

    def agencies(self, agency_ids: Iterable[str]) -> str:
        return "; ".join(self.agency(a) for a in agency_ids)

    def stage(self, stage_id: str) -> str:
        return self.pack.stage_title(stage_id)

    def clock_label(self, stage_id: str, clock_id: str) -> str:
        for clock in self.case.clocks:
            if (clock.stage, clock.clock) == (stage_id, clock_id):
                return clock.label
        return clock_id

    def by(self, person_id: str, moment: datetime) -> str:
        return f"{self.person(person_id)} on {self.when(moment)}"


def _date(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def _get(event: Event, key: str) -> str:
    value = event.data.get(key)
    return "" if value is None else str(value)


def _list(event: Event, key: str) -> list[str]:
    value = event.data.get(key)
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


# -- the header -----------------------------------------------------------------------------------


def _title(v: _View) -> list[str]:
    return [
        f"# Case record {_md(v.case.id)}: {_md(v.pack.board.name)}",
        "",
        f"A professional disagreement about {v.pack.words.a_person}'s care and safety, recorded "
        f"under the board's escalation policy ({_md(v.pack.source.title)}).",
        "",
    ]


def _details(v: _View) -> list[str]:
    case = v.case
    person = v.pack.words.person.capitalize()
    rows: list[tuple[str, str]] = [
        # Their safety leads (RB-1.4): immediate risk comes before everything else.
        (f"{person} at immediate risk of significant harm", "YES" if case.immediate_risk else "no"),
        (f"{person}'s case reference", _reference(case)),
        ("Category", _category(v)),
        ("Track", _track(v)),
        ("Status", case.status.value),
        ("Current stage", v.stage(case.stage) if case.stage else NOT_RECORDED),
        ("Stages reached", " → ".join(visit.stage for visit in case.stages) or NOT_RECORDED),
        ("Raised by", _party(v, "raiser") + f", on {v.when(case.raised_at)}"),
        ("Other professional", _party(v, "receiver")),
        ("Date of the disagreement", _date(case.disagreement_date)),
    ]
    rows += _flags(v)
    return ["## The case", "", *_table(("Detail", "Record"), rows), ""]


def _reference(case: Case) -> str:
    if case.adult_initials:
        return f"{case.adult_reference} (initials {case.adult_initials})"
    return case.adult_reference


def _category(v: _View) -> str:
    found = v.pack.category(v.case.category)
    return found.label if found is not None else v.case.category


def _track(v: _View) -> str:
    try:
        return v.pack.track(v.case.track).name
    except KeyError:
        return v.case.track


def _party(v: _View, side: str) -> str:
    party = v.case.party(side)
    text = f"{party.name}, {v.agency(party.agency_id)}"
    return text if party.reachable else f"{text} (not on Teams)"


def _flags(v: _View) -> list[tuple[str, str]]:
    case = v.case
    rows: list[tuple[str, str]] = []
    if case.case_conference is not None:
        rows.append((_conference_label(v), _conference(case.case_conference)))
    if case.child_concern:
        rows.append(("Concern about a child in the household", "yes"))
    if case.resource_implications:
        rows.append(("Resource implications", "yes"))
    return rows


def _conference_label(v: _View) -> str:
    rule = v.pack.case_conference
    clauses = f" ({', '.join(rule.clauses)})" if rule is not None else ""
    return f"Arose at a case conference or planning meeting{clauses}"


def _conference(details: Mapping[str, Any]) -> str:
    return (
        f"{details.get('meeting', '')} on {details.get('meeting_date', '')}; "
        f"dissent minuted: {_yes_no(bool(details.get('dissent_minuted')))}; "
        f"raised with the meeting's Chair: {_yes_no(bool(details.get('raised_with_chair')))}; "
        f"the meeting's decision stands meanwhile: "
        f"{_yes_no(bool(details.get('decision_stands')))}"
    )


_DETAIL_LABELS = {
    "issue": "The issue",
    "risk_to_adult": "Risk to the {person}",
    "nature_of_disagreement": "Nature of the disagreement",
    "aim": "What the raiser aims to achieve",
    "evidence": "Evidence",
}


def _disagreement(v: _View) -> list[str]:
    lines = ["## The disagreement", ""]
    given = [
        (label.format(person=v.pack.words.person), v.case.details.get(key, ""))
        for key, label in _DETAIL_LABELS.items()
    ]
    for label, text in given:
        if text.strip():
            lines += [f"**{label}.** {_md(text)}", ""]
    if len(lines) == 2:
        lines += ["No details were given when the case was raised.", ""]
    return lines


# -- the chronology -------------------------------------------------------------------------------


def _chronology(v: _View) -> list[str]:
    rows = [
        (str(event.seq), v.when(event.at), v.person(event.author), _describe(v, event))
        for event in v.events
    ]
    return [
        "## Chronology",
        "",
        *_table(("#", "When", "By", "What happened"), rows),
        "",
    ]


def _describe(v: _View, event: Event) -> str:
    describe = _DESCRIBE.get(event.type)
    if describe is None:
        return f"{event.type} (not described by this version of the record)"
    return describe(v, event)


def _raised(v: _View, event: Event) -> str:
    receiver = event.data.get("receiver")
    other = receiver if isinstance(receiver, Mapping) else {}
    risk = _yes_no(bool(event.data.get("immediate_risk")))
    return (
        f"Disagreement raised with {other.get('name', '')}, "
        f"{v.agency(str(other.get('agency_id', '')))}. "
        f"{v.pack.words.person.capitalize()} at immediate risk: {risk}."
    )


def _signpost(v: _View, event: Event) -> str:
    found = v.pack.signpost(_get(event, "signpost"))
    return f"Signpost shown: {found.title if found else _get(event, 'signpost')}."


def _stage_entered(v: _View, event: Event) -> str:
    stage = v.stage(_get(event, "stage"))
    opened = event.data.get("trigger_at") is None
    parts = [f"Case opened at {stage}." if opened else f"Escalated to {stage}."]
    if event.data.get("policy_issue"):
        parts.append("A significant policy issue.")
    reason = _get(event, "reason")
    if reason and not (opened and reason == "raised"):  # "raised": the usual start, no reason
        parts.append(f"Reason: {_sentence(reason)}")
    parts += _extra_details(event)
    if event.data.get("copy_business_manager"):
        parts.append("The Board Business Manager is copied.")
    return " ".join(parts)


def _extra_details(event: Event) -> list[str]:
    details = event.data.get("details")
    labels = {"aim": "Aim", "evidence": "Evidence", "evidence_source": "Source of the evidence"}
    if not isinstance(details, Mapping):
        return []
    return [
        f"{label}: {_sentence(str(details[key]))}"
        for key, label in labels.items()
        if details.get(key)
    ]


def _clock_started(v: _View, event: Event) -> str:
    label = v.clock_label(_get(event, "stage"), _get(event, "clock"))
    local = " A local default, not policy." if event.data.get("local_default") else ""
    return (
        f"Clock started: {label} ({v.pack.words.stage} {_get(event, 'stage')}); due "
        f"{v.when_text(_get(event, 'due'))} ({_get(event, 'basis')}).{local}"
    )


_STOPPED = {
    ClockStatus.MET.value: "met",
    ClockStatus.MISSED.value: "missed",
    ClockStatus.ENDED.value: "ended before it fell due",
}


def _clock_stopped(v: _View, event: Event) -> str:
    label = v.clock_label(_get(event, "stage"), _get(event, "clock"))
    status = _STOPPED.get(_get(event, "status"), _get(event, "status"))
    handed = event.data.get("handed_to")
    if handed:
        follower = v.clock_label(_get(event, "stage"), str(handed))
        return f"Clock passed: {label} ({v.pack.words.stage} {_get(event, 'stage')}); {follower} follows."
    return f"Clock {status}: {label} ({v.pack.words.stage} {_get(event, 'stage')})."


def _milestone(v: _View, event: Event) -> str:
    note = _get(event, "note")
    return f"Recorded at {v.stage(_get(event, 'stage'))}: {_get(event, 'label')}." + (
        f" Note: {_sentence(note)}" if note else ""
    )


def _protective(v: _View, event: Event) -> str:
    label = v.clock_label(_get(event, "stage"), _get(event, "clock"))
    return (
        f"Protective deadline set: {label} ({v.pack.words.stage} {_get(event, 'stage')}) now due "
        f"{v.when_text(_get(event, 'due'))}. Reason: {_sentence(_get(event, 'reason'))}"
    )


def _discussion(v: _View, event: Event) -> str:
    return (
        f"Discussion {_get(event, 'record_id')} recorded at {v.stage(_get(event, 'stage'))}: held "
        f"{v.when_text(_get(event, 'held_at'))} ({_get(event, 'method')}); outcome: "
        f"{_words(_get(event, 'outcome'))}."
    )


def _record_approved(v: _View, event: Event) -> str:
    return f"Discussion record {_get(event, 'record_id')} approved."


def _outcome_confirmed(v: _View, event: Event) -> str:
    return (
        f"Outcome confirmed in writing at {v.stage(_get(event, 'stage'))}: {_get(event, 'outcome')}"
    )


def _outcome_approved(v: _View, event: Event) -> str:
    return f"Outcome approved at {v.stage(_get(event, 'stage'))}; the case is resolved."


def _advice(v: _View, event: Event) -> str:
    return (
        f"Advice asked of {v.people(_list(event, 'advisers'))} at "
        f"{v.stage(_get(event, 'stage'))}: {_get(event, 'question')}"
    )


def _binding(event: Event, default: bool) -> str:
    binding = bool(event.data.get("binding", default))
    return "binding on all agencies concerned" if binding else "not binding"


def _recommendations(v: _View, event: Event) -> str:
    items = "; ".join(f"({i}) {r}" for i, r in enumerate(_list(event, "recommendations"), 1))
    return f"Recommendations recorded ({_binding(event, False)}): {items}"


def _agency_response(v: _View, event: Event) -> str:
    detail = _get(event, "detail")
    return (
        f"{v.agency(_get(event, 'agency_id'))} responded to the recommendations: "
        f"{_words(_get(event, 'response'))}." + (f" {_sentence(detail)}" if detail else "")
    )


def _panel_convened(v: _View, event: Event) -> str:
    return (
        f"Resolution panel convened with {v.agencies(_list(event, 'agency_ids'))}; its decision "
        f"is {_binding(event, True)}."
    )


def _representation(v: _View, event: Event) -> str:
    return (
        f"Representation to the panel for {v.agency(_get(event, 'agency_id'))}: "
        f"{_get(event, 'summary')}"
    )


def _panel_decision(v: _View, event: Event) -> str:
    return f"Panel decision ({_binding(event, True)}): {_get(event, 'decision')}"


def _closed(v: _View, event: Event) -> str:
    debrief = _yes_no(bool(event.data.get("debrief_offered")))
    return f"Case closed (debrief offered: {debrief}): {_sentence(_get(event, 'summary'))}"


_DESCRIBE: dict[str, Callable[[_View, Event], str]] = {
    "CaseRaised": _raised,
    "SignpostShown": _signpost,
    "StageEntered": _stage_entered,
    "ClockStarted": _clock_started,
    "ClockStopped": _clock_stopped,
    "ProtectiveDeadlineSet": _protective,
    "DiscussionRecorded": _discussion,
    "RecordApproved": _record_approved,
    "OutcomeConfirmed": _outcome_confirmed,
    "OutcomeApproved": _outcome_approved,
    "AdviceRequested": _advice,
    "MilestoneRecorded": _milestone,
    "RecommendationsRecorded": _recommendations,
    "AgencyResponseRecorded": _agency_response,
    "PanelConvened": _panel_convened,
    "RepresentationRecorded": _representation,
    "PanelDecisionRecorded": _panel_decision,
    "CaseClosed": _closed,
}


# -- discussions ----------------------------------------------------------------------------------


def _discussions(v: _View) -> list[str]:
    lines = ["## Discussions", ""]
    if not v.case.records:
        return [*lines, "No discussions have been recorded.", ""]
    for record in v.case.records:
        lines += [
            f"### Discussion {_md(record.id)}: {_md(v.stage(record.stage))}",
            "",
            *_table(("Field", "Record"), _discussion_rows(v, record)),
            "",
        ]
    return lines


def _discussion_rows(v: _View, record: DiscussionRecord) -> list[tuple[str, str]]:
    return [
        ("Held", v.when(record.held_at)),
        ("Recorded", v.by(record.author, record.recorded_at)),
        ("Method", record.method),
        ("Participants", v.people(record.participants)),
        ("Summary", record.summary),
        ("Points of difference", record.points_of_difference or NOT_RECORDED),
        ("Outcome", _words(record.outcome)),
        ("Agreed outcome", record.agreed_outcome or NOT_RECORDED),
        ("How outstanding issues will be pursued", record.outstanding_issues or NOT_RECORDED),
        ("Basis of the decision", record.basis_of_decision or NOT_RECORDED),
        ("Approved", _approvals(v, record)),
    ]


def _approvals(v: _View, record: DiscussionRecord) -> str:
    if not record.approvals:
        return "not yet approved"
    return "\n".join(f"approved by {v.by(a.by, a.at)}" for a in record.approvals)


# -- deadlines ------------------------------------------------------------------------------------


_DEADLINE_HEADER = (
    "Stage",
    "Clock",
    "Started",
    "Due by policy",
    "Protective deadline",
    "Effective due",
    "Status",
    "Stopped",
    "Clauses",
)


def _deadlines(v: _View) -> list[str]:
    lines = ["## Deadlines", ""]
    if not v.case.clocks:
        return [*lines, "No clocks have run on this case.", ""]
    return [
        *lines,
        *_table(_DEADLINE_HEADER, (_clock_row(v, clock) for clock in v.case.clocks)),
        "",
        "Met: done before it fell due. Missed: done late, or the stage ended after it fell due. "
        "Ended: the stage moved on before it fell due. A protective deadline, set to protect "
        f"{v.pack.words.the_person}, replaces the policy's deadline when it is earlier.",
        "",
    ]


def _clock_row(v: _View, clock: ClockState) -> tuple[str, ...]:
    local = " (local default, not policy)" if clock.local_default else ""
    protective = "none"
    if clock.protective_due is not None:
        protective = f"{v.when(clock.protective_due)}: {clock.protective_reason or ''}"
    return (
        clock.stage,
        clock.label + local,
        v.when(clock.started_at),
        f"{v.when(clock.due)} ({clock.basis})" if clock.basis else v.when(clock.due),
        protective,
        v.when(clock.effective_due),
        _clock_status(clock, v.generated_at),
        v.when(clock.stopped_at) if clock.stopped_at is not None else "",
        ", ".join(clock.clauses),
    )


def _clock_status(clock: ClockState, now: datetime) -> str:
    if clock.status != ClockStatus.RUNNING:
        return clock.status.value
    return "running, OVERDUE" if clock.is_overdue(now) else "running"


# -- outcomes -------------------------------------------------------------------------------------


def _outcomes(v: _View) -> list[str]:
    body = [*_confirmed(v), *_recommended(v), *_panel(v), *_closure(v)]
    return ["## Outcomes", "", *(body or ["No outcome has been recorded yet.", ""])]


def _outcome_history(events: Sequence[Event]) -> list[ConfirmedOutcome]:
    """Every outcome confirmed in writing, with its approval: the case keeps only the last."""
    found: list[ConfirmedOutcome] = []
    for event in events:
        if event.type == "OutcomeConfirmed":
            confirmed = ConfirmedOutcome(
                stage=_get(event, "stage"),
                by=event.author,
                at=event.at,
                outcome=_get(event, "outcome"),
                outstanding_issues=_get(event, "outstanding_issues"),
            )
            found.append(confirmed)
        elif event.type == "OutcomeApproved" and found:
            found[-1] = replace(found[-1], approved_by=event.author, approved_at=event.at)
    return found


def _confirmed(v: _View) -> list[str]:
    history = _outcome_history(v.events)
    if not history:
        return []
    lines = ["### Outcomes confirmed in writing", ""]
    for item in history:
        lines += [
            f"- At {_md(v.stage(item.stage))}: {_md(item.outcome)}",
            f"  - Confirmed in writing by {_md(v.by(item.by, item.at))}.",
            f"  - Outstanding issues: {_md(item.outstanding_issues or 'none recorded')}",
            f"  - {_md(_outcome_approval(v, item))}",
        ]
    return [*lines, ""]


def _outcome_approval(v: _View, item: ConfirmedOutcome) -> str:
    if item.approved_by is None or item.approved_at is None:
        return "Not yet approved."
    return f"Approved by {v.by(item.approved_by, item.approved_at)}."


def _recommended(v: _View) -> list[str]:
    recs = v.case.recommendations
    if recs is None:
        return []
    nature = (
        "These recommendations are binding."
        if recs.binding
        else "These are recommendations, not binding: each agency responds to them."
    )
    lines = [
        f"### Recommendations ({'binding' if recs.binding else 'not binding'})",
        "",
        f"Made by {_md(v.by(recs.by, recs.at))}. {nature}",
        "",
        *(f"{i}. {_md(item)}" for i, item in enumerate(recs.items, 1)),
        "",
    ]
    return [*lines, *_table(("Agency", "Response", "Detail", "By"), _responses(v)), ""]


def _responses(v: _View) -> list[tuple[str, str, str, str]]:
    rows = [
        (v.agency(r.agency_id), _words(r.response), r.detail, v.by(r.by, r.at))
        for r in v.case.agency_responses
    ]
    answered = {r.agency_id for r in v.case.agency_responses}
    for party in v.case.parties:
        if party.agency_id not in answered:
            answered.add(party.agency_id)
            rows.append((v.agency(party.agency_id), "no response recorded yet", "", ""))
    return rows


def _panel(v: _View) -> list[str]:
    panel = v.case.panel
    if panel is None:
        return []
    lines = [
        "### Resolution panel",
        "",
        f"Convened by {_md(v.by(panel.convened_by, panel.convened_at))}, with agencies not "
        f"concerned in the disagreement: {_md(v.agencies(panel.agency_ids))}.",
        "",
        "Representations:",
        "",
        *(
            f"- {_md(v.agency(r.agency_id))}, by {_md(v.by(r.by, r.at))}: {_md(r.summary)}"
            for r in v.case.representations
        ),
    ]
    if not v.case.representations:
        lines.append("- none recorded yet")
    return [*lines, "", _panel_decision_line(v), ""]


def _panel_decision_line(v: _View) -> str:
    panel = v.case.panel
    assert panel is not None
    if panel.decision is None or panel.decided_by is None or panel.decided_at is None:
        return "No decision recorded yet."
    nature = "binding on all agencies concerned" if panel.binding else "not binding"
    return (
        f"**Decision ({nature}):** {_md(panel.decision)} Recorded by "
        f"{_md(v.by(panel.decided_by, panel.decided_at))}."
    )


def _closure(v: _View) -> list[str]:
    closure = v.case.closure
    if closure is None:
        return []
    return [
        "### Closure",
        "",
        f"Closed by {_md(v.by(closure.by, closure.at))}.",
        "",
        f"**Summary.** {_md(closure.summary)}",
        "",
        "**Learning points.**",
        "",
        *_bullets(closure.learning_points),
        "",
        "**Gaps in the policy.**",
        "",
        *_bullets(closure.policy_gaps),
        "",
        f"**Debrief offered:** {_yes_no(closure.debrief_offered)}.",
        "",
    ]


def _bullets(items: Sequence[str]) -> list[str]:
    return [f"- {_md(item)}" for item in items] or ["- none recorded"]


# -- who has seen it -------------------------------------------------------------------------------


def _seen_by(v: _View) -> list[str]:
    """The access log: every time the case was shown, to whom and how (none given: no section)."""
    if v.access is None:
        return []
    lines = [
        "## Who has seen this case",
        "",
        "Every time the case was shown: a card in Teams or its refresh, `case` in chat, the "
        "board's copy, an export (this one included).",
        "",
    ]
    entries = sorted(v.access, key=lambda e: e.at)
    if not entries:
        return [*lines, "No view of this case has been recorded.", ""]
    rows = [
        (v.when(e.at), v.person(e.who), _words(e.what), f"{e.view} view" if e.view else "")
        for e in entries
    ]
    return [*lines, *_table(("When", "Who", "What", "View"), rows), ""]


# -- integrity and footer -------------------------------------------------------------------------


def _integrity(v: _View) -> list[str]:
    lines = ["## Integrity", ""]
    if not v.events:
        return [*lines, "No events were given: this record cannot be checked.", ""]
    breaks = verify_chain(v.case.id, v.events)
    count = f"{len(v.events)} event{'s' if len(v.events) != 1 else ''}"
    last = f"The last event's hash is `{v.events[-1].hash}`."
    if breaks:
        lines += [
            f"{count}; the hash chain does NOT verify: the history has been changed or is "
            f"incomplete. {last}",
            "",
            *(f"- Event {b.seq}: {_md(b.problem)}" for b in breaks),
        ]
    else:
        lines.append(
            f"{count}; the hash chain verifies from the first event to the last. {last} The "
            "record is complete if the case's stored history ends with the same hash."
        )
    if v.case.version != v.events[-1].seq:
        lines += ["", f"The case above is at version {v.case.version}, not {v.events[-1].seq}."]
    return [*lines, ""]


def _footer(v: _View) -> list[str]:
    return [
        "---",
        "",
        f"Generated {v.when(v.generated_at)}. All times are UK local time ({v.tz.key}).",
        "",
        "This record is special category data. Store it on the "
        f"{v.pack.words.person}'s file in line with your agency's records policy, and share it "
        f"only with those who need it to keep {v.pack.words.the_person} safe.",
    ]


# -- the record -----------------------------------------------------------------------------------


def case_record_markdown(
    case: Case,
    events: Sequence[Event],
    pack: PolicyPack,
    directory: Directory,
    *,
    generated_at: datetime,
    access: Sequence[AccessEntry] | None = None,
) -> str:
    """The full case record, as Markdown, for the adult's file; with `access` (the case's access
    log), who has seen it."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    view = _View(case, events, pack, directory, calendar_for(pack).tz, generated_at, access)
    sections = (
        _title,
        _details,
        _disagreement,
        _chronology,
        _discussions,
        _deadlines,
        _outcomes,
        _seen_by,
        _integrity,
        _footer,
    )
    return "\n".join(line for section in sections for line in section(view)) + "\n"
