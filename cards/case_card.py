"""The case card: what one person sees of a case, and the actions they may take on it.

It leads with the risk to the adult (RB-1.4), then the case, its deadlines and the records that
wait for approval. Each action sends back only the case id, the version the person saw and the
verb (and a record id, or what the person typed into the action's form), so the bot always acts
on the case as it stands and refuses a stale click.

Form inputs are named `<verb>.<field>` (see `FORM_FIELDS` and `form_values`), so the inputs of
different forms on one card never collide.

A view at copy level (a board role before the policy hands the board the case) gets the board's
read-only copy instead, and a view at no level gets only the answer that there is no such case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cards.elements import (
    Json,
    action_set,
    and_list,
    card,
    case_data,
    choice_input,
    container,
    date_input,
    execute,
    facts,
    heading,
    labelled,
    refresh,
    rich,
    run,
    sentence,
    show_card,
    text,
    text_input,
    time_input,
    toggle_input,
)
from cards.views import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ENTRY_LABELS,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    CaseView,
    ClockView,
    MilestoneChoice,
    RecordView,
    ViewLevel,
)
from escalation.access import no_case_message
from escalation.commands import RESPONSE_LABELS

# What each form collects, by field; the input ids are `<verb>.<field>`.
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    RECORD: (
        "held_date",
        "held_time",
        "method",
        "participants",
        "summary",
        "points_of_difference",
        "outcome",
        "agreed_outcome",
        "outstanding_issues",
        "basis_of_decision",
    ),
    ESCALATE: ("reason", "aim", "evidence", "evidence_source", "policy_issue"),
    SET_DEADLINE: ("clock", "date", "time", "reason"),
    ASK_LEAD: ("question",),
    CONFIRM_OUTCOME: ("outcome", "outstanding_issues"),
    RECOMMEND: ("recommendations",),
    CONVENE_PANEL: ("agency_ids",),
    DECIDE: ("decision",),
    REPRESENT: ("agency", "summary"),
    RESPOND: ("agency", "response", "detail"),
    CLOSE: ("summary", "learning_points", "policy_gaps", "debrief_offered"),
}

DISCUSSION_METHODS: tuple[tuple[str, str], ...] = (
    ("meeting", "Face to face"),
    ("phone", "Phone call"),
    ("teams call", "Teams or video call"),
    ("email", "Email or letter"),
)

DISCUSSION_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("resolved", "Resolved: we reached agreement"),
    ("not_resolved", "Not resolved: it needs escalating"),
    ("continuing", "Continuing: we will talk again"),
)


def input_id(verb: str, field: str) -> str:
    return f"{verb}.{field}"


def form_values(verb: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The fields a form sent back (as strings), from an action's merged data."""
    return {
        field: str(data[key])
        for field in FORM_FIELDS.get(verb, ())
        if (key := input_id(verb, field)) in data and data[key] is not None
    }


# -- the parts of the card --------------------------------------------------------------------------


def risk_block(view: CaseView) -> Json:
    """The risk to the person at risk (the pack's word: the adult, the child), first on every
    case card (RB-1.4); immediate risk said in words."""
    the_person = view.words.the_person
    items: list[Json] = [heading(f"Risk to {the_person}")]
    if view.immediate_risk:
        items.append(
            text(
                f"IMMEDIATE RISK of significant harm: protect {the_person} first; nothing here "
                "should delay that.",
                weight="bolder",
                color="attention",
            )
        )
    items.append(rich(run(view.risk_to_adult or "Not recorded yet.")))
    return container(items, style="attention" if view.immediate_risk else "emphasis")


def _status(view: CaseView) -> str:
    status = view.status.capitalize()
    if view.outcome_awaiting_approval:
        status += ": the outcome is confirmed and awaits approval"
    return status


def copy_summary_blocks(view: CaseView) -> list[Json]:
    """The case as the board's copy shows it: agencies, not people; no typed issue."""
    return [
        heading(f"Case {view.case_id}"),
        facts(
            [
                ("Board", view.board_name),
                (view.words.stage_title, f"{view.stage.id}: {view.stage.name}"),
                ("Status", view.status.capitalize()),
                ("Category", view.category),
                ("Immediate risk", "Yes" if view.immediate_risk else "No"),
                ("Agencies", "; ".join(view.agencies)),
            ]
        ),
        labelled("Agency case reference", view.adult_reference),
    ]


def summary_blocks(view: CaseView) -> list[Json]:
    if not view.full:
        return copy_summary_blocks(view)
    blocks: list[Json] = [
        heading(f"Case {view.case_id}"),
        facts(
            [
                ("Board", view.board_name),
                (view.words.stage_title, f"{view.stage.id}: {view.stage.name}"),
                ("Status", _status(view)),
                ("Category", view.category),
            ]
        ),
        labelled("Issue", view.issue),
        labelled(f"{view.words.person.capitalize()}'s case reference", view.adult_reference),
    ]
    blocks += [labelled(p.role, p.describe) for p in view.parties]
    return blocks


def clock_blocks(view: CaseView) -> list[Json]:
    blocks: list[Json] = [heading(f"Deadlines at this {view.words.stage}", size="default")]
    if not view.clocks:
        blocks.append(text(f"No deadlines at this {view.words.stage}."))
        return blocks
    blocks.append(facts((c.label, c.describe) for c in view.clocks))
    if view.next_due is not None:
        nxt = view.next_due
        late = " It is overdue." if nxt.overdue else ""
        blocks.append(text(f"Next: {nxt.label}, due {nxt.due}.{late}", weight="bolder"))
    return blocks


def _record_line(view: CaseView, record: RecordView) -> list[Json]:
    line = rich(
        run(f"Record {record.id}", bold=True),
        run(f" ({view.words.stage} {record.stage}) by "),
        run(record.author_name),
        run(f", held {record.held}; outcome: {record.outcome}."),
    )
    if not record.approvable:
        return [line]
    approve = execute(
        f"Approve record {record.id}",
        APPROVE_RECORD,
        case_data(view.case_id, view.version, APPROVE_RECORD, record_id=record.id),
        style="positive",
    )
    return [line, action_set([approve])]


def records_blocks(view: CaseView) -> list[Json]:
    if not view.records_awaiting_approval:
        return []
    blocks: list[Json] = [heading("Records awaiting approval", size="default")]
    for record in view.records_awaiting_approval:
        blocks += _record_line(view, record)
    return blocks


def recommendations_blocks(view: CaseView) -> list[Json]:
    """The Chair's recommendations and each party agency's response (RB-4.9)."""
    recs = view.recommendations
    if recs is None:
        return []
    force = "binding" if recs.binding else "not binding"
    blocks: list[Json] = [
        heading(f"{view.words.recommender_title}'s recommendations ({force})", size="default"),
        text(f"Made {recs.made}."),
    ]
    blocks += [
        rich(run(f"{n}. ", bold=True), run(item)) for n, item in enumerate(recs.items, start=1)
    ]
    blocks.append(heading("Agencies' responses", size="default"))
    blocks += [labelled(r.agency, r.describe) for r in recs.responses]
    return blocks


def panel_blocks(view: CaseView) -> list[Json]:
    """The resolution panel: who sits, what it heard, and its binding decision (HW-4.4)."""
    panel = view.panel
    if panel is None:
        return []
    blocks: list[Json] = [
        heading("Resolution panel", size="default"),
        facts([("Convened", panel.convened), ("Panel agencies", "; ".join(panel.agencies))]),
    ]
    if not panel.representations:
        blocks.append(text("No representations recorded yet."))
    for rep in panel.representations:
        blocks.append(
            rich(
                run(f"Representation for {rep.agency}", bold=True),
                run(f" (recorded by {rep.by}, {rep.at}): "),
                run(rep.summary),
            )
        )
    force = "binding on all agencies concerned" if panel.binding else "not binding"
    if panel.decision is None:
        blocks.append(text(f"The panel has not decided yet; its decision will be {force}."))
    else:
        blocks.append(labelled(f"The panel's decision ({force})", panel.decision))
    return blocks


# -- the forms --------------------------------------------------------------------------------------


def _data(view: CaseView, verb: str) -> Json:
    return case_data(view.case_id, view.version, verb)


def record_form(view: CaseView) -> Json:
    needs = set(view.record_requires)
    v = RECORD
    body: list[Json] = [
        text("Record the discussion as it happened: who took part, what was said and decided."),
        date_input(
            input_id(v, "held_date"),
            "Date of the discussion",
            value=view.today.isoformat(),
            max_date=view.today.isoformat(),
        ),
        time_input(
            input_id(v, "held_time"),
            f"Time of the discussion ({view.timezone})",
            value=view.now_time,
        ),
        choice_input(input_id(v, "method"), "How you talked", DISCUSSION_METHODS, value="meeting"),
        text_input(
            input_id(v, "participants"),
            "Who took part",
            required=True,
            placeholder="Names, separated by commas",
        ),
        text_input(
            input_id(v, "summary"), "Summary of the discussion", required=True, multiline=True
        ),
        text_input(
            input_id(v, "points_of_difference"),
            "Points of difference, stated clearly and objectively",
            required="points_of_difference" in needs,
            multiline=True,
        ),
        choice_input(input_id(v, "outcome"), "Outcome", DISCUSSION_OUTCOMES, expanded=True),
        text_input(
            input_id(v, "agreed_outcome"),
            "Agreed outcome (needed when resolved)",
            multiline=True,
        ),
        text_input(
            input_id(v, "outstanding_issues"),
            "Outstanding issues and how they will be pursued",
            multiline=True,
        ),
        text_input(
            input_id(v, "basis_of_decision"),
            "The basis of any decision",
            required="basis_of_decision" in needs,
            multiline=True,
        ),
    ]
    return show_card("Record discussion", body, [execute("Save the record", v, _data(view, v))])


def escalate_form(view: CaseView) -> Json:
    target = view.escalates_to
    assert target is not None  # the verb is only offered where the stage escalates
    v = ESCALATE
    body: list[Json] = [
        text(
            f"This moves the case to {view.words.stage} {target.id}: {target.name}. Everyone "
            "concerned is told."
        ),
        text_input(input_id(v, "reason"), "Why it needs escalating", required=True, multiline=True),
    ]
    body += [
        text_input(input_id(v, name), ENTRY_LABELS.get(name, name), required=True, multiline=True)
        for name in view.escalation_inputs
    ]
    if view.policy_issue_stage is not None:
        policy = view.policy_issue_stage
        body.append(
            toggle_input(
                input_id(v, "policy_issue"),
                "Significant policy issue",
                f"Refer it straight to {view.words.stage} {policy.id}: {policy.name}",
            )
        )
    return show_card(
        f"Escalate to {view.words.stage} {target.id}",
        body,
        [execute(f"Escalate to {view.words.stage} {target.id}", v, _data(view, v))],
    )


def deadline_form(view: CaseView) -> Json:
    v = SET_DEADLINE
    clocks = view.protective_clocks
    body: list[Json] = [
        text(
            f"Set a shorter deadline where waiting would fail to protect {view.words.the_person}. "
            "The earlier deadline applies."
        ),
        choice_input(
            input_id(v, "clock"),
            "Which deadline",
            [(c.clock, f"{c.label} (now due {c.due})") for c in clocks],
            value=clocks[0].clock if len(clocks) == 1 else None,
        ),
        date_input(input_id(v, "date"), "New date", min_date=view.today.isoformat()),
        time_input(input_id(v, "time"), f"New time ({view.timezone})", value="17:00"),
        text_input(
            input_id(v, "reason"),
            f"Why the earlier deadline protects {view.words.the_person}",
            required=True,
            multiline=True,
        ),
    ]
    return show_card(
        "Set protective deadline", body, [execute("Set the earlier deadline", v, _data(view, v))]
    )


def ask_lead_form(view: CaseView) -> Json:
    v = ASK_LEAD
    body: list[Json] = [
        text(f"Your question goes to: {view.advisers}."),
        text_input(input_id(v, "question"), "Your question", required=True, multiline=True),
    ]
    return show_card(
        "Ask the safeguarding lead", body, [execute("Send the question", v, _data(view, v))]
    )


def confirm_outcome_form(view: CaseView) -> Json:
    v = CONFIRM_OUTCOME
    body: list[Json] = [
        text("Confirm in writing the outcome agreed in the discussion."),
        text_input(input_id(v, "outcome"), "The agreed outcome", required=True, multiline=True),
        text_input(
            input_id(v, "outstanding_issues"),
            "Outstanding issues and how they will be pursued",
            multiline=True,
        ),
    ]
    return show_card(
        "Confirm the outcome", body, [execute("Confirm the outcome", v, _data(view, v))]
    )


def recommend_form(view: CaseView) -> Json:
    v = RECOMMEND
    body: list[Json] = [
        text("The recommendations are not binding; each agency records its response."),
        text_input(
            input_id(v, "recommendations"),
            "Recommendations, one per line",
            required=True,
            multiline=True,
        ),
    ]
    return show_card(
        "Record recommendations", body, [execute("Record the recommendations", v, _data(view, v))]
    )


def convene_form(view: CaseView) -> Json:
    v = CONVENE_PANEL
    need = view.panel_min_agencies
    body: list[Json] = [
        text(f"Choose at least {need} member agencies that are not concerned in the disagreement."),
        choice_input(
            input_id(v, "agency_ids"),
            f"Panel agencies (at least {need})",
            [(a.id, a.name) for a in view.panel_candidates],
            multi=True,
            expanded=True,
            error=f"Choose at least {need} agencies.",
        ),
    ]
    return show_card("Convene the panel", body, [execute("Convene the panel", v, _data(view, v))])


def decide_form(view: CaseView) -> Json:
    v = DECIDE
    body: list[Json] = [
        text("The panel's decision is binding on all agencies concerned."),
        text_input(input_id(v, "decision"), "The panel's decision", required=True, multiline=True),
    ]
    return show_card(
        "Record the panel's decision", body, [execute("Record the decision", v, _data(view, v))]
    )


def represent_form(view: CaseView) -> Json:
    v = REPRESENT
    choices = view.represent_agencies
    body: list[Json] = [
        text("Record the representation an agency concerned makes to the panel."),
        choice_input(
            input_id(v, "agency"),
            "For which agency",
            [(a.id, a.name) for a in choices],
            value=choices[0].id if len(choices) == 1 else None,
        ),
        text_input(
            input_id(v, "summary"), "The agency's representation", required=True, multiline=True
        ),
    ]
    return show_card(
        "Record a representation", body, [execute("Record the representation", v, _data(view, v))]
    )


def respond_form(view: CaseView) -> Json:
    agency = view.respond_agency
    assert agency is not None  # the verb is only offered to a member of an agency yet to respond
    v = RESPOND
    force = "binding" if view.recommendations and view.recommendations.binding else "not binding"
    body: list[Json] = [
        text(
            f"Respond for {agency.name} to {view.words.recommender}'s recommendations. They are "
            f"{force}: "
            "say whether your agency accepts them, and why not where it does not."
        ),
        choice_input(
            input_id(v, "agency"), "Responding for", [(agency.id, agency.name)], value=agency.id
        ),
        choice_input(
            input_id(v, "response"),
            "Your agency's response",
            list(RESPONSE_LABELS.items()),
            expanded=True,
        ),
        text_input(
            input_id(v, "detail"),
            "Why, and what your agency will do (needed unless accepted)",
            multiline=True,
        ),
    ]
    return show_card(
        "Respond to the recommendations", body, [execute("Send the response", v, _data(view, v))]
    )


def close_form(view: CaseView) -> Json:
    v = CLOSE
    fields = set(view.closure_fields)
    body: list[Json] = [text("Closing the case ends it: nothing can change afterwards.")]
    if view.learning_route:
        body.append(text(view.learning_route, weight="bolder"))
    body.append(
        text_input(input_id(v, "summary"), "Summary of the outcome", required=True, multiline=True)
    )
    if "learning_points" in fields:
        body.append(
            text_input(
                input_id(v, "learning_points"), "Learning points, one per line", multiline=True
            )
        )
    if "policy_gaps" in fields:
        body.append(
            text_input(input_id(v, "policy_gaps"), "Gaps in policy, one per line", multiline=True)
        )
    if "debrief_offered" in fields:
        body.append(
            toggle_input(
                input_id(v, "debrief_offered"),
                "Debrief",
                "A debrief was offered to those involved",
            )
        )
    return show_card("Close the case", body, [execute("Close the case", v, _data(view, v))])


def milestone_note_id(clock_id: str) -> str:
    """The note's input id: one per milestone, as a card may offer several."""
    return f"{MILESTONE}.note.{clock_id}"


def milestone_form(view: CaseView, choice: MilestoneChoice) -> Json:
    """A milestone the policy asks for ("an action plan agreed"): its button records it."""
    v = MILESTONE
    body: list[Json] = [
        text(f"Record that this is done: {choice.label} (due {choice.due})."),
        text_input(
            milestone_note_id(choice.clock), "A note for the record (optional)", multiline=True
        ),
    ]
    data = case_data(view.case_id, view.version, v, clock_id=choice.clock)
    return show_card(choice.button, body, [execute(f"Record: {choice.button}", v, data)])


def milestone_blocks(view: CaseView) -> list[Json]:
    """What has been recorded at this stage, and a stage's reminder cadence."""
    blocks: list[Json] = []
    if view.milestones_done:
        blocks.append(heading(f"Recorded at this {view.words.stage}", size="default"))
        blocks += [text(line) for line in view.milestones_done]
    if view.reminders:
        blocks.append(text(view.reminders, isSubtle=True))
    return blocks


def case_actions(view: CaseView) -> list[Json]:
    """The viewer's actions, most common first (approvals sit beside each record)."""
    actions: list[Json] = []
    if view.may(RECORD):
        actions.append(record_form(view))
    if view.may(ESCALATE) and view.escalates_to is not None:
        actions.append(escalate_form(view))
    if view.may(SET_DEADLINE) and view.protective_clocks:
        actions.append(deadline_form(view))
    if view.may(ASK_LEAD):
        actions.append(ask_lead_form(view))
    if view.may(CONFIRM_OUTCOME):
        actions.append(confirm_outcome_form(view))
    if view.may(APPROVE_OUTCOME):
        actions.append(
            execute(
                "Approve the outcome",
                APPROVE_OUTCOME,
                _data(view, APPROVE_OUTCOME),
                style="positive",
            )
        )
    if view.may(RECOMMEND):
        actions.append(recommend_form(view))
    if view.may(CONVENE_PANEL) and view.panel_candidates:
        actions.append(convene_form(view))
    if view.may(REPRESENT) and view.represent_agencies:
        actions.append(represent_form(view))
    if view.may(DECIDE):
        actions.append(decide_form(view))
    if view.may(RESPOND) and view.respond_agency is not None:
        actions.append(respond_form(view))
    if view.may(MILESTONE):
        actions += [milestone_form(view, choice) for choice in view.milestone_choices]
    if view.may(CLOSE):
        actions.append(close_form(view))
    return actions


# -- the card ---------------------------------------------------------------------------------------


def _who_acts(clock: ClockView) -> str:
    """'you', 'Lena Price and Nadia Khan', 'you and Noah Okafor'; empty where the view names
    nobody (the board's copy)."""
    return and_list([*(["you"] if clock.owned_by_viewer else []), *clock.owners])


def waiting_on_viewer(view: CaseView, *, clocks: bool = True) -> list[str]:
    """What waits on the viewer, in a few words each: their approvals and decisions, and (with
    `clocks`) the deadlines they own, earliest first."""
    waits: list[str] = []
    if clocks:
        for clock in sorted(view.clocks, key=lambda c: c.due_at):
            if clock.running and clock.owned_by_viewer:
                when = f"OVERDUE since {clock.due}" if clock.overdue else f"by {clock.due}"
                waits.append(f"{clock.label} ({when})")
    waits += [f"approve record {r.id}" for r in view.records_awaiting_approval if r.approvable]
    if view.outcome_awaiting_approval and view.may(APPROVE_OUTCOME):
        waits.append("approve the outcome")
    if view.may(CONFIRM_OUTCOME):
        waits.append("confirm the outcome in writing")
    if view.may(RECOMMEND):
        waits.append("make the recommendations")
    if view.may(CONVENE_PANEL) and view.panel is None:
        waits.append("convene the panel")
    if view.may(DECIDE):
        waits.append("record the panel's decision")
    if view.may(RESPOND) and view.respond_agency is not None:
        waits.append(f"respond to the recommendations for {view.respond_agency.name}")
    if view.status == "resolved" and view.may(CLOSE):
        waits.append("close the case")
    return waits


def headline(view: CaseView, *, shout: bool = True, say_copy: bool = True) -> str:
    """What the card is, in a line: the case, its stage, who must act by when, and what waits
    on the viewer. No typed text, and no names beyond what the view level shows: the board's
    copy names nobody. `shout`: lead with IMMEDIATE RISK where it applies; `say_copy`: say
    that the board's copy is one."""
    risk = "IMMEDIATE RISK: " if shout and view.immediate_risk else ""
    where = f"Case {view.case_id}, {view.words.stage} {view.stage.id} ({view.stage.short})"
    if view.status == "closed":
        return f"{risk}Case {view.case_id} ({view.board_short_name}) is closed."
    if view.status == "resolved":
        state = "resolved; it can now be closed"
    elif view.next_due is None:
        state = f"nothing falls due at this {view.words.stage}"
    else:
        nxt = view.next_due
        who = _who_acts(nxt)
        if nxt.overdue:
            late = f"OVERDUE since {nxt.due}"
            state = f"{who} must act: {late}" if who else late
        else:
            state = f"{who} must act by {nxt.due}" if who else f"next deadline {nxt.due}"
    said = f"{risk}{where}: {state}."
    if view.copy:
        return f"{said} The {view.board_short_name} copy, for information." if say_copy else said
    waits = waiting_on_viewer(view, clocks=False)
    if waits:
        said += f" Waiting on you: {'; '.join(waits)}."
    return said


def _speak(view: CaseView, notice: str | None) -> str:
    parts = []
    if view.immediate_risk:
        parts.append("Immediate risk of significant harm.")
    parts.append(headline(view, shout=False))
    if notice:
        parts.append(notice)
    parts.append(
        f"Risk to {view.words.the_person}: {sentence(view.risk_to_adult or 'not recorded yet')}"
    )
    return " ".join(parts)


def fallback_text(view: CaseView, notice: str | None = None) -> str:
    """The card in words, for Teams' chat list, notifications and clients that cannot show it:
    what it is (`headline`) and what just happened; never typed text."""
    return f"{headline(view)} {notice}" if notice else headline(view)


def unseen_card(view: CaseView) -> Json:
    """For someone with no view of the case: the same words as for a case that does not exist."""
    message = no_case_message(view.case_id)
    return card([text(message)], fallback_text=message, speak=message)


def board_copy_card(view: CaseView, *, notice: str | None = None) -> Json:
    """A board role's read-only copy of the case, before the policy hands the board the case."""
    body: list[Json] = [risk_block(view)]
    if notice:
        body.append(text(notice, weight="bolder", separator=True))
    body.append(
        text(
            f"The {view.board_short_name} copy, for information: those acting on the case see "
            "it in full in their own cards.",
            isSubtle=True,
        )
    )
    body += copy_summary_blocks(view)
    body += clock_blocks(view)
    users = [view.viewer_id] if view.viewer_id else []
    return card(
        body,
        fallback_text=fallback_text(view, notice),
        speak=_speak(view, notice),
        refresh=refresh(view.case_id, view.version, users),
    )


def case_card(
    view: CaseView,
    *,
    user_ids: Sequence[str] = (),
    notice: str | None = None,
) -> Json:
    """The case as `view.viewer_id` may see and act on it.

    `user_ids`: the Teams user ids the card refreshes for on sight (each gets their own view; at
    most 60 are kept). Without them the card refreshes for the viewer alone. `notice`: a line
    saying what just happened, shown just under the risk.
    """
    if view.level == ViewLevel.NONE:
        return unseen_card(view)
    if view.level == ViewLevel.COPY:
        return board_copy_card(view, notice=notice)
    body: list[Json] = [risk_block(view)]
    if notice:
        body.append(text(notice, weight="bolder", separator=True))
    body += summary_blocks(view)
    body += clock_blocks(view)
    body += milestone_blocks(view)
    body += records_blocks(view)
    body += recommendations_blocks(view)
    body += panel_blocks(view)
    if view.stage_guidance:
        body.append(text(view.stage_guidance, isSubtle=True))
    actions = case_actions(view)
    approvals = any(r.approvable for r in view.records_awaiting_approval)
    if not actions and not approvals:
        body.append(
            text(
                f"You have no action to take on this case at this {view.words.stage}.",
                isSubtle=True,
            )
        )
    users = list(user_ids) or ([view.viewer_id] if view.viewer_id else [])
    return card(
        body,
        fallback_text=fallback_text(view, notice),
        speak=_speak(view, notice),
        actions=actions,
        refresh=refresh(view.case_id, view.version, users),
    )
