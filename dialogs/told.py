"""Who hears of a raise, named for the person raising it. Pure functions.

Before the case is saved nobody has been told anything, so the dialog says who *will* be told,
worked out by the core's own resolution (`escalation.actors.resolve`) from the answers so far.
Once it is saved, it says who is being told from the messages saved with the case (the
service's `Outcome.notifications`, the outbox), never from what the policy says should happen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from escalation.actors import resolve
from escalation.case import Case, Party
from escalation.directory import Directory
from escalation.notifications import Notification
from escalation.policy import PolicyPack, Selector


def names(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _role_name(pack: PolicyPack, role_id: str) -> str:
    role = pack.role(role_id)
    found = role.name if role is not None else role_id.replace("_", " ")
    # Mid-sentence, "Line manager" reads as "line manager"; "RSAB Business Manager" stays.
    return found[0].lower() + found[1:] if found[1:2].islower() else found


def _agency_name(pack: PolicyPack, agency_id: str) -> str:
    agency = pack.agency(agency_id)
    return agency.name if agency is not None else agency_id


def _describe(
    selector: Selector, side: str, roles: Iterable[str], pack: PolicyPack, case: Case
) -> str:
    """What someone a selector names is to the raiser: 'your line manager', 'the other
    professional', 'your agency's designated safeguarding lead'..."""
    role_names = " and ".join(_role_name(pack, r) for r in roles)
    if selector.who == "receiver":
        return "the other professional"
    if selector.who == "line_manager":
        return "your line manager" if side == "raiser" else "the other professional's line manager"
    if selector.who == "agency_role":
        if side == "raiser":
            return f"your agency's {role_names}"
        return f"{role_names} at {_agency_name(pack, case.receiver.agency_id)}"
    return role_names  # a board role


def who_they_are(
    selectors: Iterable[Selector], case: Case, pack: PolicyPack, directory: Directory
) -> tuple[dict[str, str], list[str]]:
    """The people the selectors name, each as 'Name (what they are to the raiser)', by id; and
    what names nobody the bot can reach. The raiser is left out: nobody tells them their own
    raise."""
    found: dict[str, str] = {}
    missing: list[str] = []
    raiser = case.raiser.person_id
    for selector in selectors:
        if selector.who == "raiser":
            continue
        resolution = resolve([selector], case, pack, directory)
        for actor in resolution.actors:
            person = directory.person(actor.person_id)
            if actor.person_id == raiser or person is None or actor.person_id in found:
                continue
            held = [
                r
                for r in selector.roles
                if person.holds(r) or person.holds_board_role(case.board_id, r)
            ]
            what = _describe(selector, actor.side, held or selector.roles, pack, case)
            found[actor.person_id] = f"{person.name} ({what})"
        for gap in resolution.unresolved:
            what = _describe(selector, gap.side, selector.roles, pack, case)
            if selector.who == "receiver":
                what += f", {case.receiver.name}, who is not on Teams"
            missing.append(what)
    return found, list(dict.fromkeys(missing))


def preview_case(
    pack: PolicyPack, directory: Directory, answers: Mapping[str, Any], today: date
) -> Case:
    """The case the answers so far would open, enough to ask who its selectors name (the
    parties); it is never saved. Its time is a placeholder: no selector reads it."""
    raiser = directory.person(answers["person_id"])
    other = directory.person(answers.get("other_id"))
    return Case(
        id="",
        board_id=pack.board.id,
        track=pack.default_track,
        raised_at=datetime.combine(today, time(), tzinfo=UTC),
        raised_by=str(answers["person_id"]),
        raiser=Party(
            side="raiser",
            agency_id=raiser.agency_id if raiser is not None else "",
            person_id=raiser.id if raiser is not None else None,
            name=raiser.name if raiser is not None else "",
        ),
        receiver=Party(
            side="receiver",
            agency_id=str(answers["agency_id"]),
            person_id=other.id if other is not None else None,
            name=other.name if other is not None else str(answers.get("outside_name") or ""),
        ),
        adult_reference="",
        adult_initials=None,
        category=str(answers.get("category") or ""),
        disagreement_date=today,
        immediate_risk=True,
        details={},
        child_concern=False,
        resource_implications=False,
        case_conference=None,
    )


def immediate_risk_notice(case: Case, pack: PolicyPack, directory: Directory) -> str:
    """Said when the person answers yes to immediate risk, before anything is saved."""
    rule = pack.immediate_risk
    found, missing = who_they_are(rule.notify, case, pack, directory)
    said: list[str] = []
    if found:
        said.append(f"When you raise this, {names(list(found.values()))} will be told at once.")
    if missing:
        said.append(
            f"I have nobody in my directory as {names(missing)}: once it is raised, contact "
            "them yourself at once and record it on the case."
        )
    protects = f"Every clock that protects {pack.words.the_person} falls due"
    if rule.timescale.same_working_day:
        said.append(f"{protects} by the end of the working day.")
    elif rule.timescale.immediately:
        said.append(f"{protects} at once.")
    else:
        said.append(f"{protects} {rule.timescale.describe}.")
    if rule.may_choose_start_stage:
        said.append(
            f"You may start at a later {pack.words.stage} to get the most urgent resolution."
        )
    return " ".join(said)


def being_told(
    notifications: Iterable[Notification], case: Case, pack: PolicyPack, directory: Directory
) -> str:
    """Who the saved raise is telling, from the messages saved with it; that the raiser's own case
    card is on its way; and whom the bot cannot reach, for the raiser to contact by hand. Empty
    when nothing was queued."""
    selectors: list[Selector] = [Selector(who="receiver")]
    if case.immediate_risk:
        selectors += pack.immediate_risk.notify
    if case.stage:
        selectors += pack.stage(case.stage).notify_on_entry
    described, _ = who_they_are(selectors, case, pack, directory)
    told: dict[str, str] = {}
    by_hand: list[str] = []
    channel = card = False
    for note in notifications:
        recipient = note.recipient
        if recipient.kind == "channel":
            channel = True
        elif recipient.id == case.raiser.person_id:
            card = card or note.kind == "case_opened"
            if note.kind == "contact_by_hand" and note.details.get("missing"):
                by_hand.append(note.details["missing"])
        elif recipient.id not in told:
            person = directory.person(recipient.id)
            told[recipient.id] = described.get(
                recipient.id, person.name if person is not None else recipient.id
            )
    # The outbox may deliver the card before or after this is said: the words hold either way.
    said: list[str] = []
    if told and card:
        said.append(
            f"I am telling {names(list(told.values()))} now, and sending you the case card here."
        )
    elif told:
        said.append(f"I am telling {names(list(told.values()))} now.")
    elif card:
        said.append("I am sending you the case card here.")
    if channel:
        said.append(f"A copy goes to {pack.board.short_name}'s business manager.")
    for missing in dict.fromkeys(by_hand):
        said.append(f"I cannot reach {missing}: contact them yourself and record it on the case.")
    return " ".join(said)
