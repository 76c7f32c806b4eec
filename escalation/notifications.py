"""Who must hear of a change, what they are told and why.

Notifications are derived from the events a command caused, never sent from inside the rules:
storage saves them with the events (the outbox) and a dispatcher sends them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from escalation.actors import Resolution, line_manager, resolve, stage_actors
from escalation.case import Case
from escalation.directory import Directory
from escalation.events import Event
from escalation.policy import PolicyPack, Selector


@dataclass(frozen=True)
class Recipient:
    kind: str  # "person" or "channel"
    id: str  # a person id, or the board id for its business-manager channel

    @classmethod
    def person(cls, person_id: str) -> Recipient:
        return cls("person", person_id)

    @classmethod
    def business_manager_channel(cls, board_id: str) -> Recipient:
        return cls("channel", board_id)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Notification:
    case_id: str
    event_seq: int
    kind: str
    recipient: Recipient
    reason: str  # why this person is told, in words they can read
    stage: str
    clauses: tuple[str, ...] = ()
    action_required: bool = False
    details: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Nudges are keyed by (case, stage, clock, kind, day, recipient), not by an event.
    key_override: str | None = None

    @property
    def key(self) -> str:
        """Idempotency key: one message per event, kind and recipient, however often it is sent."""
        if self.key_override is not None:
            return self.key_override
        return f"{self.case_id}:{self.event_seq}:{self.kind}:{self.recipient.key}"


class _Collector:
    def __init__(self, case: Case, event: Event) -> None:
        self.case = case
        self.event = event
        self.items: dict[tuple[str, str], Notification] = {}

    def add(
        self,
        recipient: Recipient,
        kind: str,
        reason: str,
        clauses: Iterable[str] = (),
        *,
        action_required: bool = False,
        details: dict[str, str] | None = None,
        to_author: bool = False,
    ) -> None:
        # The person who made the change knows of it; they are told only where asked to act.
        if recipient.kind == "person" and recipient.id == self.event.author and not to_author:
            return
        self.items.setdefault(
            (kind, recipient.key),
            Notification(
                case_id=self.case.id,
                event_seq=self.event.seq,
                kind=kind,
                recipient=recipient,
                reason=reason,
                stage=self.case.stage,
                clauses=tuple(dict.fromkeys(clauses)),
                action_required=action_required,
                details=details or {},
            ),
        )

    def people(
        self,
        resolution: Resolution,
        kind: str,
        reason: str,
        clauses: Iterable[str] = (),
        *,
        action_required: bool = False,
    ) -> None:
        clauses = tuple(clauses)
        for actor in resolution.actors:
            self.add(
                Recipient.person(actor.person_id),
                kind,
                reason.format(via=actor.via),
                clauses,
                action_required=action_required,
            )
        if resolution.unresolved:
            missing = "; ".join(u.describe for u in resolution.unresolved)
            # Someone the policy needs cannot be reached in Teams: the raiser must do it by hand.
            raiser = self.case.raiser.person_id
            if raiser is not None:
                self.add(
                    Recipient.person(raiser),
                    "contact_by_hand",
                    f"The bot cannot reach {missing}. Contact them yourself and record it.",
                    clauses,
                    action_required=True,
                    to_author=True,
                    details={"missing": missing, "for": kind},
                )


def notifications_for(
    case: Case, events: Sequence[Event], pack: PolicyPack, directory: Directory
) -> list[Notification]:
    """The notifications a change requires. `case` is the state after the events."""
    result: list[Notification] = []
    for event in events:
        collector = _Collector(case, event)
        _for_event(collector, case, event, pack, directory)
        result.extend(collector.items.values())
    return result


def _left(
    out: _Collector,
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    stage_id: str,
    how: str,
) -> None:
    """Who the pack says is told when the case leaves a stage (`on_leave`), escalated or
    resolved."""
    try:
        stage = pack.stage(stage_id)
    except KeyError:
        return  # a stage a later pack dropped
    notice = stage.on_leave
    if notice is None or notice.when not in (how, "any"):
        return
    word = pack.words.stage
    where = f"{word} {stage.id} ({stage.name})"
    happened = (
        f"The case has moved on from {where} to {word} {case.stage}"
        if how == "escalated"
        else f"The case was resolved at {where}"
    )
    out.people(
        _who(notice.notify, case, pack, directory),
        "stage_left",
        f"{happened}; you are told as the {{via}}.",
        notice.clauses,
    )


def _who(
    selectors: Sequence[Selector], case: Case, pack: PolicyPack, directory: Directory
) -> Resolution:
    return resolve(selectors, case, pack, directory)


def _for_event(
    out: _Collector, case: Case, event: Event, pack: PolicyPack, directory: Directory
) -> None:
    d = event.data
    words = pack.words
    raiser = Recipient.person(case.raiser.person_id) if case.raiser.person_id else None
    stage_id = str(d.get("stage", case.stage))

    if event.type == "CaseRaised":
        if raiser is not None:
            out.add(
                raiser,
                "case_opened",
                "You raised this disagreement.",
                pack.raise_clauses,
                action_required=True,
                to_author=True,
            )
        if case.immediate_risk:
            rule = pack.immediate_risk
            out.people(
                _who(rule.notify, case, pack, directory),
                "immediate_risk",
                f"{words.the_person.capitalize()} is at immediate risk of significant harm; you "
                "are told as the {via}.",
                rule.clauses,
                action_required=True,
            )
        if case.case_conference is not None and pack.case_conference is not None:
            cc = pack.case_conference
            out.people(
                _who(cc.notify, case, pack, directory),
                "case_conference_dissent",
                "A professional from your agency dissented at a case conference; you are told as "
                "the {via}.",
                cc.clauses,
            )
        if case.resource_implications and pack.resource_implications is not None:
            ri = pack.resource_implications
            out.people(
                _who(ri.adds_actors, case, pack, directory),
                "resource_implications",
                "This disagreement has resource implications; you are involved as {via}.",
                ri.clauses,
                action_required=True,
            )
    elif event.type == "SignpostShown" and raiser is not None:
        out.add(
            raiser,
            "signpost",
            "Where else this concern should go.",
            d.get("clauses", ()),
            to_author=True,
            details={"signpost": str(d["signpost"])},
        )
    elif event.type == "StageEntered":
        stage = pack.stage(stage_id)
        out.people(
            _who(stage.notify_on_entry, case, pack, directory),
            "stage_entered",
            f"The case is at {words.stage} {stage.id} ({stage.name}); you are asked to act as "
            "{via}.",
            stage.clauses,
            action_required=True,
        )
        if len(case.stages) > 1:
            for party in case.parties:
                if party.person_id is not None:
                    out.add(
                        Recipient.person(party.person_id),
                        "case_escalated",
                        f"The case moved to {words.stage} {stage.id} ({stage.name}).",
                        stage.clauses,
                    )
        if stage.copy_business_manager:
            out.add(
                Recipient.business_manager_channel(case.board_id),
                "business_manager_copy",
                f"A case has reached {words.stage} {stage.id} ({stage.name}).",
                stage.copy_clauses,
            )
        for partner_id in stage.copy_partners:
            partner = pack.partner(partner_id)
            shared = (
                f", a step {pack.board.short_name} shares with {partner.name}" if partner else ""
            )
            out.add(
                Recipient.business_manager_channel(partner_id),
                "business_manager_copy",
                f"A {pack.board.short_name} case has reached {words.stage} {stage.id} "
                f"({stage.name}){shared}.",
                stage.copy_clauses,
            )
        if len(case.stages) > 1:
            _left(out, case, pack, directory, case.stages[-2].stage, "escalated")
    elif event.type == "DiscussionRecorded":
        outcome = str(d["outcome"])
        who = stage_actors(case, pack, directory, stage_id)
        out.people(
            who,
            "record_awaiting_approval",
            "A discussion record on this case waits for approval.",
            pack.stage(stage_id).clauses,
            action_required=True,
        )
        for party in case.parties:
            if party.person_id is not None:
                out.add(
                    Recipient.person(party.person_id),
                    "record_awaiting_approval",
                    "A discussion record on this case waits for approval.",
                    pack.stage(stage_id).clauses,
                    action_required=True,
                )
        if outcome == "not_resolved" and pack.stage(stage_id).escalates_to is not None:
            out.people(
                who,
                "escalation_due",
                "The discussion did not resolve it: escalate within the timescale.",
                pack.stage(stage_id).clauses,
                action_required=True,
            )
    elif event.type == "RecordApproved":
        record = case.record(str(d["record_id"]))
        if record is not None:
            out.add(
                Recipient.person(record.author),
                "record_approved",
                f"Your record {record.id} was approved.",
            )
    elif event.type == "OutcomeConfirmed":
        approvers = [p for p in (case.raiser.person_id,) if p]
        manager = line_manager(directory, case.raiser.person_id, case.board_id)
        if manager is not None and stage_id != pack.track(case.track).entry:
            approvers.append(manager.id)
        for person_id in approvers:
            out.add(
                Recipient.person(person_id),
                "outcome_awaiting_approval",
                "The agreed outcome has been confirmed in writing; approve it to resolve the case.",
                pack.stage(stage_id).clauses,
                action_required=True,
            )
    elif event.type in ("OutcomeApproved", "RecommendationsRecorded", "PanelDecisionRecorded"):
        kind = {
            "OutcomeApproved": "case_resolved",
            "RecommendationsRecorded": "recommendations_made",
            "PanelDecisionRecorded": "panel_decision",
        }[event.type]
        stage = pack.stage(stage_id)
        everyone = resolve(
            [
                *stage.actors,
                Selector(who="raiser"),
                Selector(who="receiver"),
                Selector(who="line_manager"),
            ],
            case,
            pack,
            directory,
        )
        out.people(
            everyone,
            kind,
            f"{words.stage_title} {stage.id} has an outcome.",
            d.get("clauses", stage.clauses),
            action_required=kind == "recommendations_made",
        )
        if case.copied_to_business_manager:
            out.add(
                Recipient.business_manager_channel(case.board_id),
                kind,
                f"Outcome at {words.stage} {stage.id} ({stage.name}).",
                d.get("clauses", ()),
            )
        _left(out, case, pack, directory, stage.id, "resolved")
    elif event.type == "MilestoneRecorded":
        stage = pack.stage(stage_id)
        everyone = resolve(
            [*stage.actors, Selector(who="raiser"), Selector(who="receiver")],
            case,
            pack,
            directory,
        )
        out.people(
            everyone,
            "milestone_recorded",
            f"Recorded on the case: {d['label']}.",
            d.get("clauses", stage.clauses),
        )
    elif event.type == "ProtectiveDeadlineSet":
        out.people(
            stage_actors(case, pack, directory, stage_id),
            "deadline_changed",
            f"An earlier deadline was set to protect {words.the_person}.",
            d.get("clauses", ()),
            action_required=True,
        )
    elif event.type == "AdviceRequested":
        for adviser in d.get("advisers", ()):
            out.add(
                Recipient.person(str(adviser)),
                "advice_requested",
                f"Your advice is asked on a disagreement about {words.a_person} at risk.",
                d.get("clauses", ()),
                action_required=True,
            )
    elif event.type == "AgencyResponseRecorded":
        out.people(
            stage_actors(case, pack, directory, stage_id),
            "agency_response",
            f"{d['agency_id']} responded to the recommendations.",
        )
    elif event.type == "PanelConvened":
        stage = pack.stage(stage_id)
        panel = stage.panel
        overseers = panel.overseen_by if panel else []
        everyone = resolve(
            [*overseers, Selector(who="raiser"), Selector(who="receiver")], case, pack, directory
        )
        out.people(
            everyone,
            "panel_convened",
            "A resolution panel has been convened.",
            d.get("clauses", ()),
            action_required=True,
        )
        out.add(
            Recipient.business_manager_channel(case.board_id),
            "panel_convened",
            "A resolution panel has been convened.",
            d.get("clauses", ()),
        )
    elif event.type == "RepresentationRecorded":
        out.people(
            stage_actors(case, pack, directory, stage_id),
            "representation",
            f"{d['agency_id']} made a representation to the panel.",
        )
    elif event.type == "DeliveryFailed":
        failed = str(d["recipient_id"])
        failed_person = directory.person(failed)
        name = failed_person.name if failed_person is not None else failed
        tell = case.raiser.person_id
        if tell == failed:  # the raiser is the one who cannot be reached: their manager is told
            manager = line_manager(directory, failed, case.board_id)
            tell = manager.id if manager else None
        if tell is not None:
            out.add(
                Recipient.person(tell),
                "contact_by_hand",
                f"The bot could not reach {name} (they may have removed the app). Contact them "
                "yourself and record it.",
                action_required=True,
                to_author=True,
                details={"missing": name, "for": str(d["kind"])},
            )
    elif event.type == "CaseClosed":
        for party in case.parties:
            if party.person_id is not None:
                out.add(
                    Recipient.person(party.person_id),
                    "case_closed",
                    "The case is closed.",
                    d.get("clauses", ()),
                )
        if d.get("copy_business_manager"):
            out.add(
                Recipient.business_manager_channel(case.board_id),
                "case_closed",
                "A case is closed, with its learning points.",
                d.get("clauses", ()),
            )
