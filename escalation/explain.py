"""A pack in plain words: what it makes the bot do, stage by stage, for a business manager to
check against the published protocol without reading YAML (`escalation policy check`).

Pure functions of a pack. Every sentence that comes from a rule ends with the clauses it cites,
and every value the board set rather than the protocol is said to be the board's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from escalation.access import describe_people, describe_selector
from escalation.policy import (
    Clock,
    PolicyPack,
    RunsFrom,
    Selector,
    Stage,
    StageOutcome,
    Timescale,
    Until,
)

__all__ = ["explain"]

_BOARDS = "(the board's setting, not the protocol's)"


def _cite(clauses: Iterable[str]) -> str:
    ids = list(dict.fromkeys(clauses))
    return f" [{', '.join(ids)}]" if ids else ""


def _people(pack: PolicyPack, selectors: Sequence[Selector]) -> str:
    return describe_people(describe_selector(s, pack) for s in selectors)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _timescale(pack: PolicyPack, timescale: Timescale) -> str:
    if timescale.immediately:
        return f"immediately (within {pack.calendar.immediately_within_minutes} minutes)"
    return timescale.describe


def _timescales(pack: PolicyPack, clock: Clock) -> str:
    """Each distinct statement once, with where the policy makes it (its text, its flowchart,
    or the board's setting)."""
    where = {"text": "text", "flowchart": "flowchart", "local": "the board's setting"}
    sources: dict[str, list[str]] = {}
    for t in clock.timescales:
        sources.setdefault(_timescale(pack, t), []).append(where[t.source])
    said = [
        f"{scale} ({' and '.join(dict.fromkeys(found))})" if len(sources) > 1 else scale
        for scale, found in sources.items()
    ]
    if len(said) == 1:
        return said[0]
    return " or ".join(said) + ", whichever falls due first,"


def _start(pack: PolicyPack, stage: Stage, clock: Clock) -> str:
    word = pack.words.stage
    runs = clock.runs_from
    if runs == RunsFrom.DISAGREEMENT_DATE:
        return "of the day the disagreement arose (or the decision reached the professional)"
    if runs == RunsFrom.STAGE_ENTERED:
        if clock.of_stage is not None:
            return f"of the case reaching {word} {clock.of_stage}"
        return f"of the case reaching this {word}"
    if runs == RunsFrom.ESCALATION_TRIGGERED:
        return (
            f"of the {word} before failing to resolve it (a discussion recorded as not "
            "resolved, or its deadline passing)"
        )
    if runs == RunsFrom.RESOLUTION_REACHED:
        return "of a discussion here reaching agreement"
    if runs == RunsFrom.DISCUSSION_FAILED:
        return "of the first discussion here recorded as not resolved"
    followed = stage.clock(clock.after or "")
    label = followed.label if followed is not None else clock.after
    if runs == RunsFrom.CLOCK_MISSED:
        return f"of the deadline for '{label}', and only if that is not met in time"
    return f"of '{label}' being done"


def _until(pack: PolicyPack, clock: Clock) -> str:
    word = pack.words.stage
    until = clock.until
    if until == Until.CASE_RAISED:
        return "met by raising the case"
    if until == Until.DISCUSSION_RECORDED:
        return "met when one of them records a discussion, or approves another's record of it"
    if until == Until.OUTCOME_CONFIRMED:
        return "met when one of them confirms the agreed outcome in writing"
    if until == Until.STAGE_RESOLVED:
        return f"met when the {word} resolves the disagreement"
    if until == Until.STAGE_ENTERED:
        return f"met when the case reaches this {word}"
    milestone = clock.milestone
    assert milestone is not None  # the pack refuses a milestone clock without one
    by = (
        f" by {_people(pack, milestone.recorded_by)}"
        if milestone.recorded_by
        else " by one of them"
    )
    return f'met when "{milestone.button}" is recorded on the case card{by}'


def _clock(pack: PolicyPack, stage: Stage, clock: Clock) -> list[str]:
    owners = _people(pack, clock.owner or stage.actors)
    lines = [
        f"Deadline '{clock.label}', for {owners}: {_timescales(pack, clock)} "
        f"{_start(pack, stage, clock)}; {_until(pack, clock)}."
        + (f" {_BOARDS}" if clock.local_default else "")
        + _cite(clock.clauses)
    ]
    if clock.protective:
        lines.append(
            f"  Anyone acting here may set an earlier deadline for it to protect "
            f"{pack.words.the_person}, with a reason; the earlier one applies."
        )
    followers = stage.followers(clock.id, RunsFrom.CLOCK_MISSED)
    if followers:
        names = describe_people(f"'{f.label}'" for f in followers)
        lines.append(
            f"  It is a window, not a deadline anyone is late for: if it passes, {names} follows."
        )
    if clock.note:
        lines.append(f"  Note: {clock.note}")
    return lines


def _stage(pack: PolicyPack, stage: Stage) -> list[str]:
    words = pack.words
    out = [f"{words.stage_title} {stage.id}: {stage.name}{_cite(stage.clauses)}"]
    said: list[str] = [f"Who acts: {_people(pack, stage.actors)}."]
    if stage.notify_on_entry:
        said.append(f"Told when the case arrives: {_people(pack, stage.notify_on_entry)}.")
    if stage.advisers:
        said.append(f"Advice may be asked of: {_people(pack, stage.advisers)}.")
    if stage.entry_requires:
        said.append(f"Escalating to it asks for: {', '.join(stage.entry_requires)}.")
    if stage.record_requires:
        fields = ", ".join(r.replace("_", " ") for r in stage.record_requires)
        said.append(f"A discussion record here must give the {fields}.")
    if stage.copy_business_manager:
        said.append(f"The board's business manager gets a copy.{_cite(stage.copy_clauses)}")
    for partner_id in stage.copy_partners:
        partner = pack.partner(partner_id)
        name = partner.name if partner is not None else partner_id
        said.append(
            f"So does the business manager of {name}, which shares this {words.stage}; the case "
            f"stays {pack.board.short_name}'s.{_cite(stage.copy_clauses)}"
        )
    out += [f"  - {s}" for s in said]
    for clock in stage.clocks:
        lines = _clock(pack, stage, clock)
        out.append(f"  - {lines[0]}")
        out += [f"    {line.strip()}" for line in lines[1:]]
    reminders = stage.reminders
    clockless = not any(c.runs_from not in _LATER for c in stage.clocks)
    if reminders is None and clockless:
        reminders = pack.reminders
    if reminders is not None:
        to = _people(pack, reminders.to) if reminders.to else _people(pack, stage.actors)
        board = f" {_BOARDS}" if reminders.local_default else ""
        every = reminders.every_working_days
        out.append(
            f"  - While a case waits here, a reminder every {every} working "
            f"day{'s' if every != 1 else ''} to: {to}.{board}{_cite(reminders.clauses)}"
        )
    elif not stage.clocks:
        out.append("  - No deadline here, and no reminders: a case could wait here unnoticed.")
    if stage.on_leave is not None:
        notice = stage.on_leave
        when = {
            "escalated": "moves on to the next " + words.stage,
            "resolved": "is resolved here",
            "any": "leaves this " + words.stage,
        }[notice.when]
        out.append(
            f"  - When the case {when}, told: {_people(pack, notice.notify)}."
            f"{_cite(notice.clauses)}"
        )
    if stage.outcome == StageOutcome.RECOMMENDATIONS and stage.recommendations is not None:
        rules = stage.recommendations
        force = "binding" if rules.binding else "not binding: each party agency responds"
        out.append(
            f"  - It ends with recommendations by {_people(pack, rules.by)}, {force}."
            f"{_cite(rules.clauses)}"
        )
    if stage.outcome == StageOutcome.PANEL_DECISION and stage.panel is not None:
        panel = stage.panel
        force = "binding on all agencies concerned" if panel.binding else "not binding"
        out.append(
            f"  - It ends with a panel of at least {panel.min_agencies} member agencies not "
            f"concerned in the case, convened by {_people(pack, panel.convened_by)}; its "
            f"decision is {force}.{_cite(panel.clauses)}"
        )
    if stage.guidance:
        out.append(f"  - Shown on the case card: {stage.guidance}")
    if stage.escalates_to is not None:
        target = pack.stage(stage.escalates_to)
        out.append(f"  - Not resolved here, it goes to {words.stage} {target.id} ({target.name}).")
    else:
        out.append(f"  - This is the last {words.stage}: it cannot be escalated further.")
    if stage.senior:
        out.append(f"  - Reports count a case that reaches it as reaching a senior {words.stage}.")
    return out


_LATER = frozenset(
    {
        RunsFrom.RESOLUTION_REACHED,
        RunsFrom.DISCUSSION_FAILED,
        RunsFrom.CLOCK_MISSED,
        RunsFrom.CLOCK_MET,
    }
)


def _fields(pack: PolicyPack, names: Iterable[str]) -> str:
    said = {
        "issue": "the issue",
        "risk_to_adult": f"the risk to {pack.words.the_person}",
        "nature_of_disagreement": "what the disagreement is",
        "aim": "the aim",
        "evidence": "the evidence",
    }
    return ", ".join(said.get(n, n.replace("_", " ")) for n in names)


def _calendar(pack: PolicyPack) -> list[str]:
    cal = pack.calendar
    lines = [
        f"Working days: Monday to Friday except {cal.nation}'s bank holidays (holiday calendar "
        f"{cal.country}-{cal.subdivision}); a working day ends at {cal.end_of_working_day:%H:%M} "
        f'({cal.timezone}); "immediately" allows {cal.immediately_within_minutes} minutes; '
        '"hours" are clock hours, through nights, weekends and holidays.'
    ]
    if cal.local_holidays:
        days = "; ".join(f"{h.date:%d %B %Y} ({h.name})" for h in cal.local_holidays)
        lines.append(f"Local holidays kept as well: {days}.")
    if cal.not_holidays:
        days = ", ".join(f"{d:%d %B %Y}" for d in cal.not_holidays)
        lines.append(f"Bank holidays its agencies work: {days}.")
    return lines


def explain(pack: PolicyPack) -> list[str]:
    """The pack, line by line, in plain words."""
    words = pack.words
    out = [
        f"{pack.board.name} ({pack.board.short_name}). Source: {pack.source.title}.",
        f'It protects {words.a_person}; it calls its stages "{words.stage}"'
        + (
            f"; recommendations are made by {words.recommender}."
            if any(st.recommendations is not None for st in pack.stages)
            else "."
        ),
        *_calendar(pack),
        f"Raising a case asks for: {_fields(pack, pack.raise_requires)}."
        f"{_cite(pack.raise_clauses)}",
    ]
    out.append("What it is about (the raise offers these):")
    out += [f"  - {c.label}{_cite(c.clauses)}" for c in pack.categories]
    if len(pack.tracks) > 1:
        choices = "; ".join(t.name for t in pack.tracks)
        out.append(f'The raise asks "{words.track_question}" ({choices}).')
    out.append("Roles:")
    out += [
        f"  - {r.name} ({'for the board' if r.scope.value == 'board' else 'in an agency'})"
        f"{_cite(r.clauses)}"
        for r in pack.roles
    ]
    for track in pack.tracks:
        out += ["", f"Route '{track.name}'{_cite(track.clauses)}:"]
        if track.description:
            out.append(f"  {track.description}")
        for stage in pack.stage_path(track.id):
            if stage.track != track.id and track.id != pack.default_track:
                out.append(f"  Then it joins {words.stage} {stage.id} ({stage.name}).")
                break
            out += [f"  {line}" for line in _stage(pack, stage)]
    risk = pack.immediate_risk
    out += [
        "",
        f"When {words.the_person} is at immediate risk{_cite(risk.clauses)}:",
        f"  - Told at once: {_people(pack, risk.notify)}.",
        f"  - It can open with only: {_fields(pack, risk.requires)}.",
        f"  - Every deadline that protects {words.the_person} falls due "
        f"{_timescale(pack, risk.timescale)} of starting, if not sooner"
        + (f" {_BOARDS}" if risk.timescale.source == "local" else "")
        + f".{_cite(risk.timescale.clauses)}",
        "  - The raiser "
        + ("may" if risk.may_choose_start_stage else "may not")
        + f" choose a later {words.stage} to start at.",
    ]
    if pack.own_manager is not None:
        rule = pack.own_manager
        signpost = pack.signpost(rule.signpost)
        title = signpost.title if signpost is not None else rule.signpost
        refused = "is not opened as a case" if rule.blocks_case else "is opened"
        out.append(
            f"A disagreement with one's own line manager {refused}: the bot shows '{title}'."
            f"{_cite(rule.clauses)}"
        )
    if pack.child_concern is not None:
        signpost = pack.signpost(pack.child_concern.signpost)
        title = signpost.title if signpost is not None else pack.child_concern.signpost
        out.append(
            f"A concern about a child in the household shows '{title}'."
            f"{_cite(pack.child_concern.clauses)}"
        )
    closure = pack.closure
    kept = [
        name
        for name, on in (
            ("learning points", closure.learning_points),
            ("policy gaps", closure.policy_gaps),
            ("whether a debrief was offered", closure.debrief_offered),
        )
        if on
    ]
    out.append(
        "Closing a case records its outcome"
        + (f", {', '.join(kept)}" if kept else "")
        + f".{_cite(closure.clauses)}"
    )
    retention = pack.retention
    out.append(
        f"Closed cases are kept {retention.closed_case_years} years"
        + (f" {_BOARDS}" if retention.local_default else "")
        + "."
    )
    for partner in pack.partners:
        out.append(
            f"Partner board, copied where a {words.stage} says so: {partner.name}."
            f"{_cite(partner.clauses)}"
        )
    if pack.signposts:
        out.append("Signposts the bot shows:")
        out += [f"  - {s.title}: {s.text}{_cite(s.clauses)}" for s in pack.signposts]
    return out
