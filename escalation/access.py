"""Need to know: who may see which view of a case, and who may do which verb on it.

One place decides, from the folded case, its pack and the directory (never from an index): the
rules ask it before they accept a command, and the cards, the bot's `case ID` and `cases`, the
export and card refresh ask it before they show anything.

Views:

* full: the parties; the people who act, are told on entry, recommend or sit on the panel at any
  stage the case has reached (resource managers too, where flagged); the parties' line managers;
  the line managers of the clocks' owners (the sweep tells them of an overdue clock); the
  advisers who were asked; the people told of immediate risk or of a case-conference dissent;
  those who made a representation to the panel. A board role is in this set only once the pack
  hands the board the case (a `board_role` selector at a reached stage).
* copy: anyone else with a role on the case's board: the read-only copy the business-manager
  channel gets, without the typed issue, the parties' names or any record's text.
* none: everyone else. "No such case" and "not yours" get the same answer (`no_case_message`),
  so a case id tells nobody whether the case exists.

Verbs: `CaseAccess.check` runs, in order, every test a command meets before the rules look at
what was typed (the view, the case's state, who may act), and raises the first refusal. The rules
call it first; `CaseAccess.verbs` offers exactly the verbs for which it passes. A verb needs the
full view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from escalation.actors import (
    Resolution,
    holds_board_role,
    line_manager,
    party_ids,
    resolve,
    stage_actors,
)
from escalation.case import Case, CaseStatus, ClockStatus, DiscussionRecord
from escalation.directory import Directory
from escalation.errors import RefusalCode, Refused
from escalation.memo import IdentityMemo
from escalation.policy import PolicyPack, Selector, Side, Stage, StageOutcome, Until

# -- verbs: what a person may do to a case (a card action's `verb`) ------------------------------

REFRESH = "refresh"
RECORD = "record"
APPROVE_RECORD = "approve_record"
ESCALATE = "escalate"
SET_DEADLINE = "set_deadline"
ASK_LEAD = "ask_lead"
CONFIRM_OUTCOME = "confirm_outcome"
APPROVE_OUTCOME = "approve_outcome"
RECOMMEND = "recommend"
CONVENE_PANEL = "convene_panel"
DECIDE = "decide"
REPRESENT = "represent"
RESPOND = "respond"
CLOSE = "close"
MILESTONE = "milestone"  # a milestone the policy asks for, which meets its clock

CASE_VERBS: tuple[str, ...] = (
    RECORD,
    APPROVE_RECORD,
    ESCALATE,
    SET_DEADLINE,
    ASK_LEAD,
    CONFIRM_OUTCOME,
    APPROVE_OUTCOME,
    RECOMMEND,
    CONVENE_PANEL,
    DECIDE,
    REPRESENT,
    RESPOND,
    CLOSE,
    MILESTONE,
)


class ViewLevel(StrEnum):
    NONE = "none"
    COPY = "copy"  # a board role before the policy hands the board the case
    FULL = "full"


def no_case_message(case_id: str) -> str:
    """The one answer for a case that does not exist and for one the person may not see."""
    return f"There is no case {case_id} that you can see."


def not_visible(case_id: str) -> Refused:
    return Refused(RefusalCode.NOT_FOUND, no_case_message(case_id))


# -- who may act, in words ---------------------------------------------------------------------

_SIDE_OWNER = {
    Side.RAISER: "the raising professional's",
    Side.RECEIVER: "the other professional's",
    Side.BOTH: "either party's",
}


def _role_names(pack: PolicyPack, roles: Iterable[str]) -> str:
    names = [(r.name if (r := pack.role(role)) is not None else role) for role in roles]
    return " or ".join(dict.fromkeys(names))


def describe_selector(selector: Selector, pack: PolicyPack) -> str:
    """A selector as the people it names, by role: never a person's name."""
    if selector.who == "raiser":
        return "the professional who raised it"
    if selector.who == "receiver":
        return "the other professional"
    if selector.who == "line_manager":
        if selector.side == Side.BOTH:
            return "the parties' line managers"
        return f"{_SIDE_OWNER[selector.side]} line manager"
    roles = _role_names(pack, selector.roles)
    if selector.who == "board_role":
        return f"the {roles}"
    where = f" at {_SIDE_OWNER[selector.side]} agency"
    if selector.sectors:
        where += f" ({', '.join(selector.sectors)})"
    return f"the {roles}{where}"


def describe_people(parts: Iterable[str]) -> str:
    unique = list(dict.fromkeys(p for p in parts if p))
    if not unique:
        return "nobody the directory knows"
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


@dataclass(frozen=True)
class Permitted:
    """The people who may do one verb now, who they are in words, and the clauses that say so.

    The words are made the first time they are asked for (`who`): a card asks who may do every
    verb, and only a refusal or the words under a card say who."""

    people: frozenset[str]
    what: str  # "escalate this case"
    words: Callable[[], str] = field(compare=False, repr=False)  # makes `who`
    clauses: tuple[str, ...] = ()

    @cached_property
    def who(self) -> str:
        """Who may, by role: "the parties' line managers"."""
        return self.words()

    def allows(self, person_id: str) -> bool:
        return person_id in self.people

    def refusal(self) -> Refused:
        return Refused(
            RefusalCode.NOT_PERMITTED,
            f"You do not hold a role that may {self.what}. Who may: {self.who}.",
            clauses=tuple(self.clauses),
        )


@dataclass(frozen=True)
class Access:
    """What one person may see of a case and do to it, at one moment."""

    case_id: str
    viewer_id: str | None
    level: ViewLevel
    verbs: frozenset[str]
    approvable_records: tuple[str, ...] = ()  # record ids the viewer may approve
    represent_agencies: tuple[str, ...] = ()  # party agencies the viewer may speak for
    respond_agency: str | None = None  # the agency the viewer responds for, while it may
    milestones: tuple[str, ...] = ()  # the clocks whose milestone the viewer may record now

    @property
    def sees(self) -> bool:
        return self.level != ViewLevel.NONE

    @property
    def full(self) -> bool:
        return self.level == ViewLevel.FULL

    def may(self, verb: str) -> bool:
        return verb in self.verbs


def _refuse(code: RefusalCode, reason: str, *clauses: str) -> Refused:
    return Refused(code, reason, clauses=tuple(clauses))


def require_open(case: Case) -> None:
    if case.status == CaseStatus.CLOSED:
        raise _refuse(RefusalCode.INVALID_STATE, f"Case {case.id} is closed; nothing can change.")
    if case.status == CaseStatus.RESOLVED:
        raise _refuse(
            RefusalCode.INVALID_STATE,
            f"Case {case.id} is resolved; it can only be closed now.",
        )


def require_not_closed(case: Case) -> None:
    if case.status == CaseStatus.CLOSED:
        require_open(case)


def escalation_target(case: Case, pack: PolicyPack, *, policy_issue: bool) -> Stage:
    """The stage an escalation from the current stage goes to, or why there is none."""
    stage = pack.stage(case.stage)
    if policy_issue:
        if pack.policy_issue_stage is None:
            raise _refuse(
                RefusalCode.INVALID_INPUT, "This board's policy has no policy-issue route."
            )
        path = [s.id for s in pack.stage_path(case.track)]
        target_id = pack.policy_issue_stage
        if target_id not in path or path.index(target_id) <= path.index(case.stage):
            raise _refuse(
                RefusalCode.INVALID_STATE,
                f"The case is already at or past {pack.words.stage} {target_id}.",
                *pack.policy_issue_clauses,
            )
        return pack.stage(target_id)
    if stage.escalates_to is None:
        raise _refuse(
            RefusalCode.INVALID_STATE,
            f"{pack.words.stage_title} {stage.id} ({stage.name}) is the last {pack.words.stage}: "
            "it cannot be escalated further.",
            *stage.clauses,
        )
    return pack.stage(stage.escalates_to)


PARTY_WORDS: tuple[str, ...] = ("the professional who raised it", "the other professional")


def actor_words(case: Case, pack: PolicyPack, stage_id: str | None = None) -> list[str]:
    """Who acts at the stage (the case's own by default), by role."""
    stage = pack.stage(stage_id or case.stage)
    selectors = list(stage.actors)
    if case.resource_implications and pack.resource_implications is not None:
        selectors += pack.resource_implications.adds_actors
    return [describe_selector(s, pack) for s in selectors]


class CaseAccess:
    """Need to know for one case as it stands, with its pack and the directory."""

    def __init__(self, case: Case, pack: PolicyPack, directory: Directory) -> None:
        self.case = case
        self.pack = pack
        self.directory = directory
        self._stage_actors: dict[str, Resolution] = {}
        # A card's verbs and who a case waits for ask the same questions many times over.
        self._levels: dict[str | None, ViewLevel] = {}
        self._permits: dict[tuple[str, str | None, str | None], Permitted] = {}

    # -- the people ------------------------------------------------------------------------

    def _resolve(self, selectors: Iterable[Selector]) -> Resolution:
        return resolve(selectors, self.case, self.pack, self.directory)

    def stage_actors(self, stage_id: str | None = None) -> Resolution:
        key = stage_id or self.case.stage
        if key not in self._stage_actors:
            self._stage_actors[key] = stage_actors(self.case, self.pack, self.directory, key)
        return self._stage_actors[key]

    @cached_property
    def stage(self) -> Stage:
        return self.pack.stage(self.case.stage)

    @cached_property
    def parties(self) -> frozenset[str]:
        return party_ids(self.case)

    def _manager(self, person_id: str | None) -> str | None:
        manager = line_manager(self.directory, person_id, self.pack.board.id)
        return None if manager is None else manager.id

    @cached_property
    def party_managers(self) -> frozenset[str]:
        found = (self._manager(p.person_id) for p in self.case.parties)
        return frozenset(m for m in found if m is not None)

    @cached_property
    def reached_stages(self) -> tuple[Stage, ...]:
        ids = dict.fromkeys([*(v.stage for v in self.case.stages), self.case.stage])
        stages = []
        for stage_id in ids:
            try:
                stages.append(self.pack.stage(stage_id))
            except KeyError:
                continue  # a stage a later pack dropped: nobody is handed the case through it
        return tuple(stages)

    @cached_property
    def full_view(self) -> frozenset[str]:
        """Everyone with the whole case: see the module's docstring."""
        case, pack = self.case, self.pack
        named: list[Selector] = []  # who each reached stage names, resolved in one pass
        owners: list[Selector] = []  # the clocks' owners, whose line managers are told too
        for stage in self.reached_stages:
            named += stage.actors
            named += stage.notify_on_entry
            if stage.recommendations is not None:
                named += stage.recommendations.by
            if stage.panel is not None:
                named += stage.panel.convened_by + stage.panel.overseen_by
            owners += (o for clock in stage.clocks for o in clock.owner)
            named += (
                s for clock in stage.clocks if clock.milestone for s in clock.milestone.recorded_by
            )
            if stage.on_leave is not None:
                named += stage.on_leave.notify
            if stage.reminders is not None:
                named += stage.reminders.to
        if pack.reminders is not None:
            named += pack.reminders.to
        if case.resource_implications and pack.resource_implications is not None:
            named += pack.resource_implications.adds_actors
        if case.immediate_risk:
            named += pack.immediate_risk.notify
        if case.case_conference is not None and pack.case_conference is not None:
            named += pack.case_conference.notify
        owner_ids = self._resolve(owners).person_ids
        people = set(self.parties) | set(self.party_managers)
        people |= self._resolve(named).person_ids | owner_ids
        people |= {m for o in owner_ids if (m := self._manager(o)) is not None}
        for request in case.advice_requests:
            people |= set(request.advisers)
        people |= {r.by for r in case.representations}
        return frozenset(people)

    def level(self, viewer_id: str | None) -> ViewLevel:
        found = self._levels.get(viewer_id)
        if found is None:
            found = self._levels[viewer_id] = self._level(viewer_id)
        return found

    def _level(self, viewer_id: str | None) -> ViewLevel:
        if viewer_id is None:
            return ViewLevel.NONE
        viewer = self.directory.person(viewer_id)
        if viewer is not None and not viewer.active:
            return ViewLevel.NONE  # an entry awaiting approval sees nothing (escalation.joining)
        if viewer_id in self.full_view:
            return ViewLevel.FULL
        if holds_board_role(self.directory.person(viewer_id), self.pack.board.id):
            return ViewLevel.COPY
        return ViewLevel.NONE

    # -- who may do each verb ----------------------------------------------------------------

    def permitted(
        self,
        verb: str,
        *,
        record: DiscussionRecord | None = None,
        clock_id: str | None = None,
    ) -> Permitted:
        """Who may do `verb` (a record's approval: pass the record; a milestone: its clock) by
        role, with the clauses."""
        key = (verb, None if record is None else record.stage, clock_id)
        found = self._permits.get(key)
        if found is None:
            found = self._permits[key] = self._permitted(verb, record=record, clock_id=clock_id)
        return found

    def _permitted(
        self, verb: str, *, record: DiscussionRecord | None, clock_id: str | None
    ) -> Permitted:
        stage, actors = self.stage, self.stage_actors()
        # The words are made later, if asked (Permitted.who), from the case and the pack alone:
        # a closure over this access would make a cycle of it and its own cache of Permitted.
        case, pack = self.case, self.pack
        if verb == MILESTONE:
            return self._milestone_recorders(clock_id)
        if verb in (RECORD, ASK_LEAD):
            what = {
                RECORD: "record a discussion on this case",
                ASK_LEAD: "ask for advice on this case",
            }
            return Permitted(
                actors.person_ids | self.parties,
                what[verb],
                lambda: describe_people([*PARTY_WORDS, *actor_words(case, pack)]),
                tuple(stage.clauses),
            )
        if verb in (ESCALATE, SET_DEADLINE):
            what = {
                ESCALATE: "escalate this case",
                SET_DEADLINE: "set a protective deadline at this stage",
            }
            return Permitted(
                actors.person_ids,
                what[verb],
                lambda: describe_people(actor_words(case, pack)),
                tuple(stage.clauses),
            )
        if verb == APPROVE_RECORD:
            record_stage = record.stage if record is not None else stage.id
            people = (
                self.stage_actors(record_stage).person_ids
                | actors.person_ids
                | self.parties
                | self.party_managers
            )

            def words() -> str:
                return describe_people(
                    [
                        *PARTY_WORDS,
                        "the parties' line managers",
                        *actor_words(case, pack, record_stage),
                        *actor_words(case, pack),
                    ]
                )

            clauses = self._stage_clauses(record_stage)
            return Permitted(people, "approve records on this case", words, clauses)
        if verb == CONFIRM_OUTCOME:
            return self._confirmers()
        if verb == APPROVE_OUTCOME:
            return self._approvers()
        if verb == RECOMMEND:
            rules = stage.recommendations
            by = rules.by if rules is not None else []
            return Permitted(
                self._resolve(by).person_ids,
                f"record {self.pack.words.recommender}'s recommendations",
                lambda: describe_people(describe_selector(s, pack) for s in by),
                tuple(rules.clauses) if rules is not None else (),
            )
        if verb in (CONVENE_PANEL, DECIDE):
            panel = stage.panel
            selectors = [] if panel is None else list(panel.convened_by)
            if verb == DECIDE and panel is not None:
                selectors += panel.overseen_by
            what = {
                CONVENE_PANEL: "convene the resolution panel",
                DECIDE: "record the panel's decision",
            }
            return Permitted(
                self._resolve(selectors).person_ids,
                what[verb],
                lambda: describe_people(describe_selector(s, pack) for s in selectors),
                tuple(panel.clauses) if panel is not None else (),
            )
        if verb in (REPRESENT, RESPOND):
            what = {
                REPRESENT: "speak for an agency to the panel",
                RESPOND: "respond to the recommendations for an agency",
            }
            # People of a party agency with the whole case, not holding a board role.
            members = frozenset(
                p
                for p in self.full_view
                if (person := self.directory.person(p)) is not None
                and person.agency_id in self.case.party_agencies
                and not holds_board_role(person, self.pack.board.id)
            )
            people = members | (actors.person_ids if verb == REPRESENT else frozenset())
            member = ["a member of an agency concerned who is involved in the case"]
            return Permitted(
                people,
                what[verb],
                lambda: describe_people(
                    member + (actor_words(case, pack) if verb == REPRESENT else [])
                ),
                tuple(stage.clauses),
            )
        if verb == CLOSE:
            return Permitted(
                actors.person_ids | self.parties,
                "close this case",
                lambda: describe_people([*PARTY_WORDS, *actor_words(case, pack)]),
                tuple(self.pack.closure.clauses),
            )
        raise ValueError(f"unknown verb {verb!r}")

    def _milestone_recorders(self, clock_id: str | None) -> Permitted:
        """Who records a milestone: its `recorded_by`, else its clock's owners, else the stage's
        actors."""
        stage = self.stage
        definition = stage.clock(clock_id or "")
        milestone = definition.milestone if definition is not None else None
        if definition is None or milestone is None:
            return Permitted(frozenset(), "record that", lambda: "nobody", tuple(stage.clauses))
        selectors = milestone.recorded_by or definition.owner
        if selectors:
            people = self._resolve(selectors).person_ids
            words = [describe_selector(s, self.pack) for s in selectors]
        else:
            people, words = self.stage_actors().person_ids, actor_words(self.case, self.pack)
        return Permitted(
            people,
            f"record '{milestone.button}'",
            lambda: describe_people(words),
            tuple(definition.clauses),
        )

    def _stage_clauses(self, stage_id: str) -> tuple[str, ...]:
        try:
            return tuple(self.pack.stage(stage_id).clauses)
        except KeyError:
            return ()

    def _confirmers(self) -> Permitted:
        """The receiving side confirms an agreed outcome in writing; where it cannot be reached
        in Teams, a person acting at the stage records its written confirmation."""
        stage, actors = self.stage, self.stage_actors()
        people = {a.person_id for a in actors.on_side("receiver")}
        words = [
            describe_selector(s, self.pack) for s in stage.actors if _on_side(s, Side.RECEIVER)
        ]
        entry = self.pack.track(self.case.track).entry
        if self.case.receiver.person_id is not None and stage.id == entry:
            people.add(self.case.receiver.person_id)
            words.append("the other professional")
        if not people:
            people = set(actors.person_ids)
            words = actor_words(self.case, self.pack)
        return Permitted(
            frozenset(people),
            "confirm the outcome for the receiving agency",
            lambda: describe_people(words),
            tuple(stage.clauses),
        )

    def _approvers(self) -> Permitted:
        stage, actors = self.stage, self.stage_actors()
        people = {a.person_id for a in actors.on_side("raiser")}
        if self.case.raiser.person_id is not None:
            people.add(self.case.raiser.person_id)
        manager = self._manager(self.case.raiser.person_id)
        if manager is not None:
            people.add(manager)
        words = [
            "the professional who raised it",
            "the raising professional's line manager",
            *(describe_selector(s, self.pack) for s in stage.actors if _on_side(s, Side.RAISER)),
        ]
        return Permitted(
            frozenset(people),
            "approve the outcome for the raising agency",
            lambda: describe_people(words),
            tuple(stage.clauses),
        )

    # -- the checks a command meets before its input is read ------------------------------------

    def check(
        self,
        verb: str,
        actor_id: str,
        now: datetime,
        *,
        record_id: str | None = None,
        agency_id: str | None = None,
        clock_id: str | None = None,
        policy_issue: bool = False,
    ) -> None:
        """Refuse (raise `Refused`) as the rules would before reading what was typed.

        `record_id`, `agency_id` and `clock_id` name what the command is about; without a
        `clock_id`, a protective deadline needs some clock that can still be made earlier.
        """
        case = self.case
        if self.level(actor_id) == ViewLevel.NONE:
            raise not_visible(case.id)
        if verb == APPROVE_RECORD:
            self._check_approve_record(actor_id, record_id)
            return
        if verb == RESPOND:
            self._check_respond(actor_id, agency_id)
            return
        if verb == CLOSE:
            require_not_closed(case)
            if case.status != CaseStatus.RESOLVED:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    "Only a resolved case can be closed: agree and approve an outcome, or record "
                    "the stage's recommendations or decision, first.",
                )
            self._require(CLOSE, actor_id)
            return
        require_open(case)
        stage = self.stage
        if verb == MILESTONE:
            self._check_milestone(actor_id, clock_id, now)
            return
        if verb in (RECORD, ESCALATE):
            self._require(verb, actor_id)
            if verb == ESCALATE:
                escalation_target(case, self.pack, policy_issue=policy_issue)
        elif verb == SET_DEADLINE:
            self._require(verb, actor_id)
            self._check_clock(clock_id, now)
        elif verb == ASK_LEAD:
            self._require(verb, actor_id)
            if not stage.advisers:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    f"{self.pack.words.stage_title} {stage.id} names no advisers.",
                )
            advisers = self._resolve(stage.advisers)
            if not advisers.actors:
                missing = "; ".join(u.describe for u in advisers.unresolved)
                raise _refuse(
                    RefusalCode.NOT_FOUND, f"Nobody in the directory holds that role ({missing})."
                )
        elif verb == CONFIRM_OUTCOME:
            self._check_confirm(actor_id)
        elif verb == APPROVE_OUTCOME:
            outcome = case.outcome
            if outcome is None or outcome.stage != case.stage:
                raise _refuse(
                    RefusalCode.INVALID_STATE, "No outcome at this stage is waiting for approval."
                )
            if actor_id == outcome.by:
                raise _refuse(
                    RefusalCode.NOT_PERMITTED,
                    "You cannot approve an outcome you confirmed yourself.",
                )
            self._require(verb, actor_id)
        elif verb == RECOMMEND:
            if stage.recommendations is None:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    f"{self.pack.words.stage_title} {stage.id} does not make recommendations.",
                )
            self._require(verb, actor_id)
        elif verb == CONVENE_PANEL:
            if stage.panel is None:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    f"{self.pack.words.stage_title} {stage.id} has no panel.",
                )
            self._require(verb, actor_id)
            if case.panel is not None:
                raise _refuse(RefusalCode.INVALID_STATE, "The panel has already been convened.")
        elif verb == DECIDE:
            if stage.panel is None or case.panel is None:
                raise _refuse(RefusalCode.INVALID_STATE, "The panel has not been convened yet.")
            self._require(verb, actor_id)
            if not case.representations:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    "The panel receives representations from those involved before it decides.",
                    *stage.panel.clauses,
                )
        elif verb == REPRESENT:
            self._check_represent(actor_id, agency_id)
        else:
            raise ValueError(f"unknown verb {verb!r}")

    def _require(self, verb: str, actor_id: str) -> None:
        permitted = self.permitted(verb)
        if not permitted.allows(actor_id):
            raise permitted.refusal()

    def _check_clock(self, clock_id: str | None, now: datetime) -> None:
        case, stage = self.case, self.stage
        if clock_id is None:
            ahead = any(
                c.protective and c.status == ClockStatus.RUNNING and c.effective_due > now
                for c in case.clocks_of_stage(stage.id)
            )
            if not ahead:
                raise _refuse(
                    RefusalCode.INVALID_STATE,
                    "No deadline at this stage can be made earlier now.",
                    *stage.clauses,
                )
            return
        clock = case.running_clock(stage.id, clock_id)
        definition = stage.clock(clock_id)
        if clock is None or definition is None:
            raise _refuse(RefusalCode.NOT_FOUND, f"No running clock {clock_id!r} at this stage.")
        if not definition.protective:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"The policy gives no protective timescale for '{definition.label}'.",
                *definition.clauses,
            )

    def _check_milestone(self, actor_id: str, clock_id: str | None, now: datetime) -> None:
        case, stage = self.case, self.stage
        definition = stage.clock(clock_id or "")
        if definition is None or definition.until != Until.MILESTONE:
            raise _refuse(
                RefusalCode.NOT_FOUND,
                f"{self.pack.words.stage_title} {stage.id} has no milestone {clock_id!r}.",
                *stage.clauses,
            )
        clock = case.running_clock(stage.id, definition.id)
        if clock is None or clock.waiting(now):
            raise _refuse(
                RefusalCode.INVALID_STATE,
                f"'{definition.label}' is not waiting for anything now.",
                *definition.clauses,
            )
        permitted = self.permitted(MILESTONE, clock_id=definition.id)
        if not permitted.allows(actor_id):
            raise permitted.refusal()

    def _check_confirm(self, actor_id: str) -> None:
        case, stage = self.case, self.stage
        if stage.outcome != StageOutcome.AGREEMENT:
            raise _refuse(
                RefusalCode.INVALID_STATE,
                f"At {self.pack.words.stage} {stage.id} the outcome is a "
                f"{stage.outcome.value.replace('_', ' ')}.",
                *stage.clauses,
            )
        if not any(r.outcome == "resolved" for r in case.records_at(stage.id)):
            raise _refuse(
                RefusalCode.INVALID_STATE,
                "Record the discussion in which the agreement was reached first.",
                *stage.clauses,
            )
        if case.outcome is not None and case.outcome.stage == stage.id:
            raise _refuse(
                RefusalCode.INVALID_STATE, "The outcome at this stage is already confirmed."
            )
        self._require(CONFIRM_OUTCOME, actor_id)

    def _check_approve_record(self, actor_id: str, record_id: str | None) -> None:
        case = self.case
        require_not_closed(case)
        record = case.record(record_id or "")
        if record is None:
            raise _refuse(RefusalCode.NOT_FOUND, f"Case {case.id} has no record {record_id}.")
        if actor_id == record.author:
            raise _refuse(
                RefusalCode.NOT_PERMITTED,
                "You cannot approve your own record: the other party or a manager approves it.",
            )
        if any(a.by == actor_id for a in record.approvals):
            raise _refuse(
                RefusalCode.INVALID_STATE, f"You have already approved record {record.id}."
            )
        permitted = self.permitted(APPROVE_RECORD, record=record)
        if not permitted.allows(actor_id):
            raise permitted.refusal()

    def _check_agency_member(self, verb: str, actor_id: str, agency_id: str | None) -> None:
        """The actor speaks for `agency_id`: a party agency, their own, and they are involved."""
        case = self.case
        if agency_id is None or agency_id not in case.party_agencies:
            raise _refuse(RefusalCode.INVALID_INPUT, f"{agency_id} is not a party to this case.")
        person = self.directory.person(actor_id)
        if person is None:
            raise _refuse(
                RefusalCode.NOT_PERMITTED,
                "You are not in this board's directory yet: set up your profile (agency and "
                "role) first.",
            )
        if holds_board_role(person, self.pack.board.id):
            raise _refuse(
                RefusalCode.NOT_PERMITTED,
                f"You hold a role on {self.pack.board.short_name}, which stays neutral: you "
                "cannot speak for an agency in its cases.",
            )
        if person.agency_id != agency_id:
            raise _refuse(
                RefusalCode.NOT_PERMITTED,
                f"You can only speak for your own agency ({person.agency_id}).",
            )
        self._require(verb, actor_id)

    def _check_represent(self, actor_id: str, agency_id: str | None) -> None:
        case = self.case
        if case.panel is None:
            raise _refuse(RefusalCode.INVALID_STATE, "The panel has not been convened yet.")
        if actor_id in self.stage_actors().person_ids:
            # A person acting at the stage records a representation for any party agency.
            if agency_id is None or agency_id not in case.party_agencies:
                raise _refuse(
                    RefusalCode.INVALID_INPUT, f"{agency_id} is not a party to this case."
                )
            return
        self._check_agency_member(REPRESENT, actor_id, agency_id)

    def _check_respond(self, actor_id: str, agency_id: str | None) -> None:
        case = self.case
        require_not_closed(case)
        if case.recommendations is None:
            raise _refuse(
                RefusalCode.INVALID_STATE, "There are no recommendations to respond to yet."
            )
        self._check_agency_member(RESPOND, actor_id, agency_id)
        if any(r.agency_id == agency_id for r in case.agency_responses):
            raise _refuse(RefusalCode.INVALID_STATE, f"{agency_id} has already responded.")

    # -- what a viewer may do ------------------------------------------------------------------

    def may(
        self,
        verb: str,
        actor_id: str,
        now: datetime,
        *,
        record_id: str | None = None,
        agency_id: str | None = None,
        clock_id: str | None = None,
    ) -> bool:
        try:
            self.check(
                verb, actor_id, now, record_id=record_id, agency_id=agency_id, clock_id=clock_id
            )
        except Refused:
            return False
        return True

    def who_may(self, verb: str, now: datetime, *, record_id: str | None = None) -> frozenset[str]:
        """Everyone who may do `verb` now, by the very checks a command meets (`check`): for a
        record's approval, name the record (its author and those who approved it are left
        out)."""
        record = self.case.record(record_id) if record_id is not None else None
        candidates = self.permitted(verb, record=record).people
        return frozenset(p for p in candidates if self.may(verb, p, now, record_id=record_id))

    def for_viewer(self, viewer_id: str | None, now: datetime) -> Access:
        """The view level and every verb `viewer_id` may use now."""
        level = self.level(viewer_id)
        if viewer_id is None or level != ViewLevel.FULL:
            return Access(self.case.id, viewer_id, level, frozenset())
        records = tuple(
            r.id
            for r in self.case.records
            if not r.approved and self.may(APPROVE_RECORD, viewer_id, now, record_id=r.id)
        )
        agencies = _party_agency_ids(self.case)
        represent = tuple(a for a in agencies if self.may(REPRESENT, viewer_id, now, agency_id=a))
        respond = next(
            (a for a in agencies if self.may(RESPOND, viewer_id, now, agency_id=a)), None
        )
        milestones = tuple(
            c.id
            for c in self.stage.clocks
            if c.milestone is not None and self.may(MILESTONE, viewer_id, now, clock_id=c.id)
        )
        singles = (APPROVE_RECORD, REPRESENT, RESPOND, MILESTONE)
        simple = (v for v in CASE_VERBS if v not in singles)
        verbs = {v for v in simple if self.may(v, viewer_id, now)}
        verbs |= {MILESTONE} if milestones else set()
        verbs |= {APPROVE_RECORD} if records else set()
        verbs |= {REPRESENT} if represent else set()
        verbs |= {RESPOND} if respond is not None else set()
        return Access(
            self.case.id,
            viewer_id,
            level,
            frozenset(verbs),
            approvable_records=records,
            represent_agencies=represent,
            respond_agency=respond,
            milestones=milestones,
        )


def _on_side(selector: Selector, side: Side) -> bool:
    """Whether a selector names people on `side` (a party selector names its own side)."""
    if selector.who in ("raiser", "receiver"):
        return selector.who == side.value
    return selector.side in (side, Side.BOTH)


def _party_agency_ids(case: Case) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.agency_id for p in case.parties))


# One turn asks about the same case several times (may the person see it, may they act, which
# verbs does their card offer, who is it waiting for now): the answers hold while the same
# case, pack and directory, all immutable, are asked about. A card action asks about two cases
# (before and after) and the outbox about the second again, so the memo holds those of many
# turns in flight: at 32, twenty users' actions evicted each other's between the card shown and
# the words under it, and each case's full view was worked out three times, not two.
_RECENT: IdentityMemo[CaseAccess] = IdentityMemo(CaseAccess, 128)


def case_access(case: Case, pack: PolicyPack, directory: Directory) -> CaseAccess:
    """Need to know for `case` as it stands (see `CaseAccess`), reused while asked again."""
    return _RECENT.get(case, pack, directory)


def access_for(
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    viewer_id: str | None,
    now: datetime,
) -> Access:
    """What `viewer_id` may see of `case` and do to it at `now`."""
    return case_access(case, pack, directory).for_viewer(viewer_id, now)


def view_level(
    case: Case, pack: PolicyPack, directory: Directory, viewer_id: str | None
) -> ViewLevel:
    return case_access(case, pack, directory).level(viewer_id)
