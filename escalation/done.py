"""What the person who acted on a case is told once it is saved: what changed, who it now waits
for, and who is being told, each person by name. Pure functions.

Who may approve is asked of `escalation.access` (the one place that decides it); who is being
told is read from the messages saved with the change (the service's `Outcome.notifications`, the
outbox), never from what the policy says should happen. The outbox sends after this answer, so
nobody is said to have been told: they "are being told". Someone the bot cannot reach in Teams
is named as to be contacted by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from escalation.access import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    RECOMMEND,
    RECORD,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    case_access,
)
from escalation.actors import line_manager, person_name
from escalation.case import Case
from escalation.directory import Directory
from escalation.notifications import Notification
from escalation.policy import PolicyPack
from escalation.service import Outcome

CONTACT_BY_HAND = "contact_by_hand"
ADVICE_REQUESTED = "advice_requested"

# What each verb did, where nothing more than the verb is needed to say it.
_DONE = {
    APPROVE_OUTCOME: "You approved the outcome: the case is resolved.",
    RECOMMEND: "The recommendations are recorded.",
    CONVENE_PANEL: "The panel is convened.",
    DECIDE: "The panel's decision is recorded; it binds all agencies concerned.",
    REPRESENT: "Your agency's representation is recorded for the panel.",
    RESPOND: "Your agency's response to the recommendations is recorded.",
    CLOSE: "The case is closed.",
}


def and_list(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def or_list(items: Sequence[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _role_name(pack: PolicyPack, role_id: str) -> str:
    role = pack.role(role_id)
    found = role.name if role is not None else role_id.replace("_", " ")
    # Mid-sentence, "Line manager" reads as "line manager"; "Head of Service" and "RSAB
    # Business Manager" stay as they are.
    first, _, rest = found.partition(" ")
    if first[1:].islower() and rest == rest.lower():
        return found[0].lower() + found[1:]
    return found


def _stage_roles(case: Case, pack: PolicyPack) -> set[str]:
    """The roles that act or are told at the stages the case has reached."""
    roles: set[str] = set()
    for stage_id in dict.fromkeys([*(v.stage for v in case.stages), case.stage]):
        try:
            stage = pack.stage(stage_id)
        except KeyError:
            continue  # a stage a later pack dropped
        for selector in [*stage.actors, *stage.notify_on_entry]:
            roles |= set(selector.roles)
    return roles


def relation(
    person_id: str, viewer_id: str | None, case: Case, pack: PolicyPack, directory: Directory
) -> str:
    """What a person is on this case, to the viewer: 'the other professional', 'your line
    manager', "Noah Okafor's line manager", 'senior manager at NELFT NHS Foundation Trust'...
    Empty when the directory says nothing of them."""
    if person_id == case.raiser.person_id:
        return "the professional who raised it"
    if person_id == case.receiver.person_id:
        return "the other professional"
    mine = line_manager(directory, viewer_id, case.board_id)
    if mine is not None and mine.id == person_id:
        return "your line manager"
    for party in case.parties:
        manager = line_manager(directory, party.person_id, case.board_id)
        if manager is not None and manager.id == person_id:
            return f"{party.name}'s line manager"
    person = directory.person(person_id)
    if person is None:
        return ""
    board = [_role_name(pack, r) for b, r in sorted(person.board_roles) if b == case.board_id]
    if board:
        return and_list(board)
    wanted = _stage_roles(case, pack)
    held = sorted(person.roles & wanted) or sorted(
        r for r in person.roles if r not in (pack.joining.newcomer_role, *pack.joining.admin_roles)
    )
    viewer = directory.person(viewer_id)
    agency = pack.agency(person.agency_id)
    where = agency.name if agency is not None else person.agency_id
    if not held:
        return where
    roles = and_list([_role_name(pack, r) for r in held])
    if viewer is not None and viewer.agency_id == person.agency_id:
        return f"your agency's {roles}"
    return f"{roles} at {where}"


def named(
    person_id: str, viewer_id: str | None, case: Case, pack: PolicyPack, directory: Directory
) -> str:
    """'Lena Price (your line manager)'; the id when the directory does not know them."""
    what = relation(person_id, viewer_id, case, pack, directory)
    name = person_name(directory, case, person_id)
    return f"{name} ({what})" if what else name


def _ordered(people: Iterable[str], case: Case, directory: Directory) -> list[str]:
    """The parties first, then everyone else by name."""
    parties = [p.person_id for p in case.parties if p.person_id is not None]

    def key(person_id: str) -> tuple[int, str]:
        if person_id in parties:
            return (parties.index(person_id), "")
        person = directory.person(person_id)
        return (len(parties), person.name if person is not None else person_id)

    return sorted(set(people), key=key)


def waits_for(
    verb: str,
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    viewer_id: str,
    now: datetime,
    *,
    record_id: str | None = None,
) -> tuple[str, list[str]]:
    """'Noah Okafor (the other professional) or Lena Price (your line manager)': everyone
    `escalation.access` lets do `verb` now, named, and their ids. Without anyone, who may, by
    role."""
    gate = case_access(case, pack, directory)
    people = _ordered(gate.who_may(verb, now, record_id=record_id), case, directory)
    if people:
        return or_list([named(p, viewer_id, case, pack, directory) for p in people]), people
    record = case.record(record_id) if record_id is not None else None
    who = gate.permitted(verb, record=record).who
    return f"{who}, and nobody who may can be reached in Teams yet", []


def being_told(
    notifications: Iterable[Notification],
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    actor_id: str,
    *,
    lead: str = "",
    introduced: Iterable[str] = (),
) -> list[str]:
    """Sentences naming who the saved change is telling (from its outbox messages), whom the
    bot cannot reach (to be contacted by hand, and by whom), and the business manager's copy.
    `lead` ('The case is at stage 2 (Line managers)') starts the first sentence; the people
    `introduced` were already said with what they are, and are named alone."""
    told: list[str] = []
    by_hand: dict[str, list[str]] = {}  # who is asked to contact them: what cannot be reached
    channel = False
    for note in notifications:
        recipient = note.recipient
        if recipient.kind == "channel":
            channel = True
        elif note.kind == CONTACT_BY_HAND:
            missing = note.details.get("missing")
            if missing:
                by_hand.setdefault(recipient.id, []).append(missing)
        elif recipient.id != actor_id and recipient.id not in told:
            told.append(recipient.id)
    said: list[str] = []
    known = set(introduced)
    people = [
        person_name(directory, case, p) if p in known else named(p, actor_id, case, pack, directory)
        for p in told
    ]
    if people:
        verb = "is" if len(people) == 1 else "are"
        sentence = f"{and_list(people)} {verb} being told."
        said.append(f"{lead}: {sentence}" if lead else sentence)
    elif lead:
        said.append(f"{lead}.")
    for asked, gaps in by_hand.items():
        whom = and_list(list(dict.fromkeys(gaps)))
        said.append(f"Not reachable in Teams, so to be contacted by hand: {whom}.")
        if asked == actor_id:
            said.append("You are asked to do it, and to record it on the case.")
        else:
            who = person_name(directory, case, asked) if asked in known or asked in told else None
            who = who or named(asked, actor_id, case, pack, directory)
            said.append(f"{who} is asked to do it.")
    if channel:
        said.append(f"A copy is going to the {pack.board.short_name} business manager.")
    return said


def _record_id(outcome: Outcome) -> str | None:
    for event in outcome.events:
        if event.type in ("DiscussionRecorded", "RecordApproved"):
            return str(event.data.get("record_id"))
    return None


def done_message(
    verb: str,
    outcome: Outcome,
    pack: PolicyPack,
    directory: Directory,
    actor_id: str,
    now: datetime,
) -> str:
    """What to tell `actor_id` once `verb` is saved (`outcome` is what the service returned)."""
    case = outcome.case
    notes = list(outcome.notifications)
    lead = ""
    first: list[str] = []
    introduced: list[str] = []
    if verb == RECORD:
        record_id = _record_id(outcome)
        by, introduced = waits_for(
            APPROVE_RECORD, case, pack, directory, actor_id, now, record_id=record_id
        )
        first.append(f"Your record {record_id} is saved; it waits for approval by {by}.")
    elif verb == APPROVE_RECORD:
        first.append(f"You approved record {_record_id(outcome)}.")
    elif verb == ESCALATE:
        stage = pack.stage(case.stage)
        lead = f"The case is at {pack.words.stage} {stage.id} ({stage.short_name})"
    elif verb == SET_DEADLINE:
        first.append(_deadline_set(outcome, pack, now))
    elif verb == ASK_LEAD:
        asked = [n.recipient.id for n in notes if n.kind == ADVICE_REQUESTED]
        notes = [n for n in notes if n.kind != ADVICE_REQUESTED]
        people = [named(p, actor_id, case, pack, directory) for p in dict.fromkeys(asked)]
        first.append(
            f"Your question is going to {and_list(people)}."
            if people
            else "Your question is saved on the case."
        )
    elif verb == CONFIRM_OUTCOME:
        by, introduced = waits_for(APPROVE_OUTCOME, case, pack, directory, actor_id, now)
        first.append(f"The outcome is confirmed in writing; it waits for approval by {by}.")
    else:
        first.append(_DONE.get(verb, "Saved."))
    told = being_told(notes, case, pack, directory, actor_id, lead=lead, introduced=introduced)
    return " ".join([*first, *told])


def _deadline_set(outcome: Outcome, pack: PolicyPack, now: datetime) -> str:
    for event in outcome.events:
        if event.type != "ProtectiveDeadlineSet":
            continue
        stage_id, clock_id = str(event.data["stage"]), str(event.data["clock"])
        clock = outcome.case.running_clock(stage_id, clock_id)
        if clock is not None:
            tz = ZoneInfo(pack.calendar.timezone)
            local = clock.effective_due.astimezone(tz)
            year = " %Y" if local.year != now.astimezone(tz).year else ""
            due = local.strftime(f"%a %d %b{year} %H:%M")
            return f"The earlier deadline is set: '{clock.label}' is now due {due}."
    return "The earlier deadline is set."
