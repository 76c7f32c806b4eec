"""Raising a case: the raise's checks (who, with whom, the answers the pack requires) and where
the case starts."""

from __future__ import annotations

from typing import Any

from escalation.actors import holds_board_role
from escalation.case import fold
from escalation.commands import RaiseDisagreement
from escalation.directory import Person
from escalation.errors import RefusalCode, Refused
from escalation.events import EventDraft, append
from escalation.policy import OwnManagerRule, PolicyPack
from escalation.rules.clocks import follow_on
from escalation.rules.context import Context, acting_person, refuse
from escalation.rules.stages import enter_stage
from escalation.rules.text import check_reference, check_text


def own_manager_rule(
    pack: PolicyPack, raiser: Person, other_person_id: str | None
) -> OwnManagerRule | None:
    """The pack's own-manager rule, when the professional named is the raiser's own line manager
    (only someone in the directory can be); None when it does not apply. The raise dialog asks
    this as soon as the other professional is named."""
    rule = pack.own_manager
    if rule is None or other_person_id is None or other_person_id != raiser.line_manager_id:
        return None
    return rule


def decide_raise(command: RaiseDisagreement, ctx: Context, case_id: str) -> list[EventDraft]:
    pack = ctx.pack
    raiser = acting_person(ctx, command.actor_id)
    other = command.other_party
    other_agency = pack.agency(other.agency_id)
    if other_agency is None:
        raise refuse(
            RefusalCode.INVALID_INPUT,
            f"Agency {other.agency_id!r} is not one of {pack.board.short_name}'s agencies.",
        )
    if pack.agency(raiser.agency_id) is None:
        raise refuse(
            RefusalCode.NOT_PERMITTED,
            f"Your agency ({raiser.agency_id}) is not one of {pack.board.short_name}'s agencies.",
        )
    if holds_board_role(raiser, pack.board.id):
        raise refuse(
            RefusalCode.NOT_PERMITTED,
            f"You hold a role on {pack.board.short_name}, which stays neutral in the "
            "disagreements it oversees: you cannot raise one with it. A colleague at your agency "
            "who is not on the board can.",
        )
    receiver_person: Person | None = None
    if other.person_id is not None:
        receiver_person = ctx.directory.person(other.person_id)
        if receiver_person is None:
            raise refuse(
                RefusalCode.INVALID_INPUT, "The other professional is not in the directory."
            )
        if not receiver_person.active:  # a request to join is not yet someone to name
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} cannot be named yet: their entry at "
                f"{other_agency.name} waits for approval. Name another professional there.",
            )
        if receiver_person.agency_id != other.agency_id:
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} works for {receiver_person.agency_id}, not {other.agency_id}.",
            )
        if receiver_person.id == raiser.id:
            raise refuse(
                RefusalCode.INVALID_INPUT, "You cannot raise a disagreement with yourself."
            )
        if holds_board_role(receiver_person, pack.board.id):
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} holds a role on {pack.board.short_name}, which stays "
                "neutral in the disagreements it oversees: name another professional at "
                f"{other_agency.name}.",
            )
    elif not (other.name or "").strip():
        raise refuse(RefusalCode.INVALID_INPUT, "Name the other professional.")

    own = own_manager_rule(pack, raiser, other.person_id)
    if own is not None and own.blocks_case:
        signpost = pack.signpost(own.signpost)
        text = signpost.text if signpost else ""
        raise Refused(
            RefusalCode.OWN_MANAGER,
            f"This is a disagreement with your own manager. {text}".strip(),
            clauses=tuple(own.clauses),
            signpost=own.signpost,
        )

    today = ctx.calendar.local_date(ctx.now)
    if command.disagreement_date > today:
        raise refuse(
            RefusalCode.INVALID_INPUT,
            f"The date of the disagreement ({command.disagreement_date:%d %B %Y}) is in the future.",
        )
    reference = check_reference(command.adult_reference, pack.words.person)
    initials = (command.adult_initials or "").strip() or None
    if initials is not None and not (initials.isalpha() and len(initials) <= 4):
        raise refuse(RefusalCode.INVALID_INPUT, "Initials are up to four letters.")
    if pack.category(command.category) is None:
        known = ", ".join(c.id for c in pack.categories)
        raise refuse(RefusalCode.INVALID_INPUT, f"Unknown category {command.category!r} ({known}).")

    required = set(pack.immediate_risk.requires if command.immediate_risk else pack.raise_requires)
    details = {
        name: check_text(name, getattr(command, name), required=name in required)
        for name in ("issue", "risk_to_adult", "nature_of_disagreement", "aim", "evidence")
    }

    track_id = command.track or pack.default_track
    try:
        track_path = pack.stage_path(track_id)
    except KeyError:
        raise refuse(
            RefusalCode.INVALID_INPUT, f"This board's policy has no track {track_id!r}."
        ) from None
    start = track_path[0]
    start_reason = "raised"
    if command.start_stage is not None and command.start_stage != start.id:
        rule = pack.immediate_risk
        if not (command.immediate_risk and rule.may_choose_start_stage):
            raise refuse(
                RefusalCode.NOT_PERMITTED,
                f"A case starts at the first {pack.words.stage} unless {pack.words.the_person} is "
                "at immediate risk and the board's policy lets you choose where it starts.",
                *rule.clauses,
            )
        chosen = next((s for s in track_path if s.id == command.start_stage), None)
        if chosen is None:
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"No {pack.words.stage} {command.start_stage!r} on this track.",
            )
        start = chosen
        start_reason = check_text(
            "reason for the starting stage", command.start_reason or "", required=True
        )

    if command.resource_implications and pack.resource_implications is None:
        raise refuse(
            RefusalCode.INVALID_INPUT, "This board's policy has no route for resource implications."
        )
    conference: dict[str, Any] | None = None
    if command.case_conference is not None:
        rule_cc = pack.case_conference
        if rule_cc is None:
            raise refuse(
                RefusalCode.INVALID_INPUT, "This board's policy has no case-conference route."
            )
        cc = command.case_conference
        meeting = check_text(
            "meeting", cc.meeting, required="meeting" in rule_cc.requires, limit=200
        )
        if cc.meeting_date > today:
            raise refuse(RefusalCode.INVALID_INPUT, "The meeting date is in the future.")
        if "dissent_minuted" in rule_cc.requires and not cc.dissent_minuted:
            raise refuse(
                RefusalCode.INVALID_INPUT,
                "Ask the Chair of the meeting to note your dissent in the minutes first.",
                *rule_cc.clauses,
            )
        conference = {
            "meeting": meeting,
            "meeting_date": cc.meeting_date.isoformat(),
            "dissent_minuted": cc.dissent_minuted,
            "raised_with_chair": cc.raised_with_chair,
            "decision_stands": rule_cc.decision_stands,
        }

    receiver_name = receiver_person.name if receiver_person else (other.name or "").strip()
    raised = EventDraft(
        "CaseRaised",
        {
            "board_id": pack.board.id,
            "track": track_id,
            "raiser": {
                "side": "raiser",
                "agency_id": raiser.agency_id,
                "person_id": raiser.id,
                "name": raiser.name,
                "email": raiser.email,
            },
            "receiver": {
                "side": "receiver",
                "agency_id": other.agency_id,
                "person_id": receiver_person.id if receiver_person else None,
                "name": receiver_name,
                "email": receiver_person.email if receiver_person else other.email,
            },
            "adult_reference": reference,
            "adult_initials": initials,
            "category": command.category,
            "disagreement_date": command.disagreement_date.isoformat(),
            "immediate_risk": command.immediate_risk,
            "details": details,
            "child_concern": command.child_concern,
            "resource_implications": command.resource_implications,
            "case_conference": conference,
            "clauses": pack.raise_clauses,
        },
    )
    # Fold the opening event so that the stage's rules see the case as it now stands.
    case = fold(append(case_id, [], [raised], at=ctx.now, author=raiser.id))
    drafts = [raised]
    if command.child_concern and pack.child_concern is not None:
        drafts.append(
            EventDraft(
                "SignpostShown",
                {"signpost": pack.child_concern.signpost, "clauses": pack.child_concern.clauses},
            )
        )
    drafts += enter_stage(case, start, ctx, reason=start_reason, trigger_at=None)
    return follow_on(case, drafts, ctx)
