"""Who a pack's selectors name for a given case: the people who act, are told, or advise.

The board stays neutral: a person with a role on the case's board (business manager, chair,
panel...) is never picked to act for an agency in that board's cases, as an agency role holder or
as a party's line manager, even where the directory places them in an agency. The board's roles
reach a case only through the pack's `board_role` selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from escalation.case import Case
from escalation.directory import Directory, Person
from escalation.policy import PolicyPack, Selector, Side


@dataclass(frozen=True)
class Actor:
    person_id: str
    side: str  # "raiser", "receiver" or "board"
    via: str  # how the selector reached them, for messages ("line manager", role name...)


@dataclass(frozen=True)
class Unresolved:
    """A selector that named nobody: the directory lacks a person the policy needs."""

    side: str
    describe: str


@dataclass(frozen=True)
class Resolution:
    actors: tuple[Actor, ...]
    unresolved: tuple[Unresolved, ...]

    @property
    def person_ids(self) -> frozenset[str]:
        return frozenset(a.person_id for a in self.actors)

    def on_side(self, side: str) -> tuple[Actor, ...]:
        return tuple(a for a in self.actors if a.side == side)


_PARTY_NAMES = {"raiser": "the professional who raised it", "receiver": "the other professional"}


def _sides(selector: Selector) -> tuple[str, ...]:
    if selector.side == Side.BOTH:
        return ("raiser", "receiver")
    return (selector.side.value,)


def holds_board_role(person: Person | None, board_id: str) -> bool:
    """Whether the person has any role on this board (and so stays neutral in its cases)."""
    return person is not None and any(board == board_id for board, _ in person.board_roles)


def line_manager(directory: Directory, person_id: str | None, board_id: str) -> Person | None:
    """The person's line manager, unless the manager holds a role on the board."""
    manager = directory.line_manager_of(person_id)
    return None if holds_board_role(manager, board_id) else manager


def resolve(
    selectors: Iterable[Selector], case: Case, pack: PolicyPack, directory: Directory
) -> Resolution:
    board_id = pack.board.id
    actors: dict[str, Actor] = {}
    unresolved: list[Unresolved] = []

    def add(person_id: str, side: str, via: str) -> None:
        actors.setdefault(person_id, Actor(person_id, side, via))

    for selector in selectors:
        if selector.who in ("raiser", "receiver"):
            party = case.party(selector.who)
            if party.person_id is not None:
                add(party.person_id, party.side, _PARTY_NAMES[selector.who])
            else:
                unresolved.append(Unresolved(party.side, f"{party.name} (not on Teams)"))
            continue
        if selector.who == "board_role":
            found = False
            for role in selector.roles:
                for person in directory.board_holders(pack.board.id, role):
                    add(person.id, "board", _role_name(pack, role))
                    found = True
            if not found:
                names = " or ".join(_role_name(pack, r) for r in selector.roles)
                unresolved.append(Unresolved("board", names))
            continue
        for side in _sides(selector):
            party = case.party(side)
            if selector.who == "line_manager":
                manager = line_manager(directory, party.person_id, board_id)
                if manager is not None:
                    add(manager.id, side, f"line manager of {party.name}")
                else:
                    unresolved.append(Unresolved(side, f"the line manager of {party.name}"))
                continue
            # agency_role: holders of the role in this party's agency, where the sector fits.
            agency = pack.agency(party.agency_id)
            if selector.sectors and (agency is None or agency.sector not in selector.sectors):
                continue
            holders = [
                person
                for role in selector.roles
                for person in directory.holders(role, party.agency_id)
                if not holds_board_role(person, board_id)
            ]
            for person in holders:
                add(
                    person.id,
                    side,
                    ", ".join(_role_name(pack, r) for r in selector.roles if person.holds(r)),
                )
            if not holders:
                agency_name = agency.name if agency else party.agency_id
                names = " or ".join(_role_name(pack, r) for r in selector.roles)
                unresolved.append(Unresolved(side, f"{names} at {agency_name}"))
    return Resolution(tuple(actors.values()), tuple(unresolved))


def person_name(directory: Directory, case: Case, person_id: str) -> str:
    """A person's name as a case shows it: the directory's, else the party's as recorded (a
    professional not on Teams), else the id."""
    person = directory.person(person_id)
    if person is not None:
        return person.name
    for party in case.parties:
        if party.person_id == person_id:
            return party.name
    return person_id


def _role_name(pack: PolicyPack, role_id: str) -> str:
    role = pack.role(role_id)
    return role.name if role else role_id


def stage_actors(case: Case, pack: PolicyPack, directory: Directory, stage_id: str) -> Resolution:
    """Who may act at a stage: the pack's actors, plus resource managers where flagged (HW-3)."""
    selectors = list(pack.stage(stage_id).actors)
    if case.resource_implications and pack.resource_implications is not None:
        selectors += pack.resource_implications.adds_actors
    return resolve(selectors, case, pack, directory)


def clock_owners(
    case: Case, pack: PolicyPack, directory: Directory, stage_id: str, clock_id: str
) -> Resolution:
    """Who must act for a clock: its `owner` selectors, or the stage's actors where it names
    none (the people the reminders go to)."""
    definition = pack.stage(stage_id).clock(clock_id)
    if definition is None or not definition.owner:
        return stage_actors(case, pack, directory, stage_id)
    return resolve(definition.owner, case, pack, directory)


def party_ids(case: Case) -> frozenset[str]:
    return frozenset(p.person_id for p in case.parties if p.person_id is not None)
