"""Joining an agency in Teams, or changing agency or line manager: a request that someone who
already holds authority at that agency approves.

Authority is granted, never claimed. Roles and line managers come from the board's directory
import, or from an approval:

* a request to be a practitioner may be approved by the line manager it names (active, at that
  agency, holding a manager role) or by an agency administrator of that agency;
* any other request (a change of line manager that would give back more than a practitioner's
  role) only by an agency administrator of that agency.

Which role ids these are is the packs' (`PolicyPack.joining`: `practitioner`, `line_manager`,
`agency_admin` and, for whom to ask, `business_manager` unless a pack names its own), per agency
through `BoardAgencies.roles`.

While a request waits, the entry is pending: it holds no role anywhere and manages nobody, so a
change of agency drops the authority held at the old one until the new one is approved. A
person with a board role never acts for an agency, so never asks to join one; a request can only
name an agency that lists the tenant the person signs in from.

Pure functions of a directory snapshot, like the rules: storage keeps the requests, the bot and
the command line ask these functions before they write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from escalation.directory import Directory, Person, Standing
from escalation.errors import RefusalCode, Refused
from escalation.policy import Joining, PolicyPack

# The product's own role ids, where a pack names none of its own (`PolicyPack.joining`).
_DEFAULTS: Final = Joining()
AGENCY_ADMIN: Final = _DEFAULTS.admin_roles[0]
LINE_MANAGER: Final = _DEFAULTS.manager_roles[0]
PRACTITIONER: Final = _DEFAULTS.newcomer_role
BUSINESS_MANAGER: Final = _DEFAULTS.contact_roles[0]


@dataclass(frozen=True)
class AgencyRoles:
    """The role ids that joining an agency uses there, from the packs of the agency's boards."""

    newcomer: str = PRACTITIONER
    managers: frozenset[str] = frozenset({LINE_MANAGER})
    admins: frozenset[str] = frozenset({AGENCY_ADMIN})

    @classmethod
    def of(cls, packs: Iterable[PolicyPack]) -> AgencyRoles:
        found = list(packs)
        if not found:
            return cls()
        return cls(
            newcomer=found[0].joining.newcomer_role,
            managers=frozenset(r for p in found for r in p.joining.manager_roles),
            admins=frozenset(r for p in found for r in p.joining.admin_roles),
        )


DEFAULT_ROLES: Final = AgencyRoles()
# Who decided a request approved or declined with the command line: the board's administrator,
# who also imports the directory.
BY_THE_BOARD: Final = "the board's directory administrator"
MAX_REASON: Final = 500


@dataclass(frozen=True)
class BoardAgencies:
    """What the policy packs say about agencies: their names, and the boards each belongs to
    (whose business managers are who to ask when nobody at an agency can help)."""

    names: Mapping[str, str] = field(default_factory=dict)
    boards: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    agency_roles: Mapping[str, AgencyRoles] = field(default_factory=dict)
    contact_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by board

    @classmethod
    def of(cls, packs: Iterable[PolicyPack]) -> BoardAgencies:
        names: dict[str, str] = {}
        boards: dict[str, list[str]] = {}
        by_agency: dict[str, list[PolicyPack]] = {}
        contacts: dict[str, tuple[str, ...]] = {}
        for pack in packs:
            contacts[pack.board.id] = tuple(pack.joining.contact_roles)
            for agency in pack.agencies:
                names.setdefault(agency.id, agency.name)
                boards.setdefault(agency.id, []).append(pack.board.id)
                by_agency.setdefault(agency.id, []).append(pack)
        roles = {agency_id: AgencyRoles.of(found) for agency_id, found in by_agency.items()}
        return cls(names, {a: tuple(b) for a, b in boards.items()}, roles, contacts)

    def name(self, agency_id: str) -> str:
        return self.names.get(agency_id, agency_id)

    def roles(self, agency_id: str | None) -> AgencyRoles:
        """The role ids joining this agency uses (the product's own for an unknown agency)."""
        return self.agency_roles.get(agency_id or "", DEFAULT_ROLES)

    def by_name(self) -> list[tuple[str, str]]:
        """Every agency of the packs as (id, name), by name."""
        return sorted(self.names.items(), key=lambda item: (item[1].casefold(), item[0]))

    def contacts(self, directory: Directory, agency_id: str | None = None) -> list[Person]:
        """The business managers of the agency's boards (of every board, for no agency)."""
        board_ids = (
            self.boards.get(agency_id, ())
            if agency_id is not None
            else tuple(dict.fromkeys(b for bs in self.boards.values() for b in bs))
        )
        found = {
            p.id: p
            for b in board_ids
            for role in self.contact_roles.get(b, (BUSINESS_MANAGER,))
            for p in directory.board_holders(b, role)
        }
        return sorted(found.values(), key=lambda p: (p.name.casefold(), p.id))


class RequestState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DECLINED = "declined"
    SUPERSEDED = "superseded"  # the entry changed since: a newer request, or a directory import


@dataclass(frozen=True)
class JoinRequest:
    """One request, as asked and as decided: the history the board can read back."""

    id: str
    person_id: str
    name: str
    agency_id: str
    line_manager_id: str | None
    roles: frozenset[str]  # what approval grants
    tenant_id: str  # the Microsoft Entra tenant the person asked from
    created_at: datetime
    previous_agency_id: str | None = None  # where the entry acted before asking, if anywhere
    previous_roles: frozenset[str] = frozenset()
    state: RequestState = RequestState.OPEN
    decided_by: str | None = None  # a person id, or BY_THE_BOARD
    decided_at: datetime | None = None
    reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == RequestState.OPEN


@dataclass(frozen=True)
class Approver:
    person: Person
    capacity: str  # "the line manager named" or "agency administrator"

    def describe(self) -> str:
        return f"{self.person.name} ({self.capacity})"


def _refuse(reason: str) -> Refused:
    return Refused(RefusalCode.NOT_PERMITTED, reason)


def check_reason(reason: str | None) -> str:
    """Why a request was declined, as the requester will read it: required, short, plain."""
    text = " ".join((reason or "").split())
    if not text:
        raise Refused(
            RefusalCode.INVALID_INPUT, "Say why you decline it: the person is told the reason."
        )
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise Refused(RefusalCode.INVALID_INPUT, "The reason contains control characters.")
    if len(text) > MAX_REASON:
        raise Refused(
            RefusalCode.INVALID_INPUT,
            f"The reason is too long ({len(text)} characters; at most {MAX_REASON}).",
        )
    return text


def decided_message(request: JoinRequest, decider: str) -> str:
    """What anyone who tries to decide a request that is no longer open is told."""
    when = f" on {request.decided_at:%d %B %Y}" if request.decided_at is not None else ""
    if request.state == RequestState.SUPERSEDED:
        return (
            f"Request {request.id} is no longer open: {request.name}'s entry changed since (a "
            "newer request, or the board's directory). Nothing was changed."
        )
    return f"Request {request.id} was already {request.state.value} by {decider}{when}."


def names(people: Sequence[str]) -> str:
    unique = list(dict.fromkeys(people))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def who_to_ask(contacts: Sequence[Person]) -> str:
    """The board's business managers by name: who to ask when nobody at an agency can help."""
    listed = names([p.name for p in contacts])
    return (
        f"your board's business manager ({listed})" if listed else "your board's business manager"
    )


def requested_roles(
    existing: Person | None, agency_id: str, roles: AgencyRoles = DEFAULT_ROLES
) -> frozenset[str]:
    """What a request asks for: a change of line manager within one's agency asks for one's
    roles back; a newcomer, a change of agency or a declined entry asks to be a practitioner
    (other roles at the new agency come from its administrator or the board's directory)."""
    if existing is not None and existing.agency_id == agency_id:
        if existing.active and existing.roles:
            return existing.roles
        if existing.status == Standing.PENDING and existing.requested_roles:
            return existing.requested_roles
    return frozenset({roles.newcomer})


def line_managers(
    directory: Directory, agency_id: str, *, excluding: str, roles: AgencyRoles = DEFAULT_ROLES
) -> list[Person]:
    """Who may be named as one's line manager at an agency: its active line managers who hold no
    board role (a board role never acts for an agency), other than oneself."""
    found = {
        p.id: p
        for role in sorted(roles.managers)
        for p in directory.holders(role, agency_id)
        if p.id != excluding and not p.board_roles
    }
    return sorted(found.values(), key=lambda p: (p.name.casefold(), p.id))


def _manages(manager: Person | None, pending: Person, roles: AgencyRoles) -> bool:
    return (
        manager is not None
        and manager.active
        and manager.id != pending.id
        and manager.agency_id == pending.agency_id
        and any(manager.holds(role) for role in roles.managers)
        and not manager.board_roles
    )


def check_request(
    directory: Directory,
    *,
    person_id: str,
    existing: Person | None,
    tenant_id: str | None,
    agency_id: str,
    agency_name: str,
    line_manager_id: str | None,
    contacts: Sequence[Person],
    roles: AgencyRoles = DEFAULT_ROLES,
) -> None:
    """Refuse a request that could never be approved, before anything is written."""
    if existing is not None and existing.board_roles:
        raise _refuse(
            "You hold a role on the board, which stays neutral and never acts for an agency: "
            f"your entry is kept by the board's directory. Ask {who_to_ask(contacts)} to change "
            "it."
        )
    if not directory.lists_tenant(agency_id, tenant_id):
        raise _refuse(
            f"Your organisation's Microsoft 365 tenant is not registered for {agency_name}, so "
            f"you cannot join it from this account. Sign in with your {agency_name} account, or "
            f"ask {who_to_ask(contacts)} to register your organisation's tenant for it."
        )
    if line_manager_id is None:
        return
    manager = directory.person(line_manager_id)
    pending = Person(id=person_id, name="", agency_id=agency_id, status=Standing.PENDING)
    if not _manages(manager, pending, roles):
        raise Refused(
            RefusalCode.INVALID_INPUT,
            f"The line manager you chose is not an active line manager at {agency_name} any "
            "more. Type 'profile' to choose again.",
        )


def pending_entry(request: JoinRequest, existing: Person | None) -> Person:
    """The entry while the request waits: at the agency asked for, holding nothing."""
    same_agency = existing is not None and existing.agency_id == request.agency_id
    return Person(
        id=request.person_id,
        name=existing.name if existing is not None else request.name,
        agency_id=request.agency_id,
        line_manager_id=request.line_manager_id,
        # The email and job title were the old agency's: they stay only within one agency.
        email=existing.email if existing is not None and same_agency else None,
        job_title=existing.job_title if existing is not None and same_agency else None,
        status=Standing.PENDING,
        requested_roles=request.roles,
    )


def approvers(
    directory: Directory, pending: Person, roles: AgencyRoles = DEFAULT_ROLES
) -> list[Approver]:
    """Who may approve a pending entry: the line manager it names, for a practitioner's
    request, and the agency's administrators (neither the person nor a board role)."""
    found: list[Approver] = []
    if pending.requested_roles <= {roles.newcomer}:
        manager = directory.person(pending.line_manager_id)
        if manager is not None and _manages(manager, pending, roles):
            found.append(Approver(manager, "the line manager named"))
    admins = (
        p for role in sorted(roles.admins) for p in directory.holders(role, pending.agency_id)
    )
    for admin in admins:
        named = any(a.person.id == admin.id for a in found)
        if admin.id != pending.id and not admin.board_roles and not named:
            found.append(Approver(admin, "agency administrator"))
    return found


def check_approver(
    directory: Directory,
    pending: Person,
    actor_id: str,
    *,
    agency_name: str,
    roles: AgencyRoles = DEFAULT_ROLES,
) -> None:
    """Refuse anyone but the pending entry's approvers."""
    if actor_id == pending.id:
        raise _refuse("You cannot approve your own request: it waits for someone else.")
    allowed = approvers(directory, pending, roles)
    if any(a.person.id == actor_id for a in allowed):
        return
    if allowed:
        listed = names([a.describe() for a in allowed])
        raise _refuse(
            f"Only {listed} can approve {pending.name}'s request to join {agency_name}. "
            "Nothing was changed."
        )
    raise _refuse(
        f"Nobody at {agency_name} can approve {pending.name}'s request in Teams (no line "
        "manager was named and the agency has no administrator): the board's directory "
        "administrator can, with `escalation directory approve`. Nothing was changed."
    )


def approved_entry(directory: Directory, pending: Person) -> Person:
    """The entry once approved: the roles asked for, and the line manager named."""
    manager = pending.line_manager_id
    return replace(
        pending,
        roles=pending.requested_roles,
        requested_roles=frozenset(),
        line_manager_id=manager if directory.person(manager) is not None else None,
        status=Standing.ACTIVE,
    )


def declined_entry(pending: Person) -> Person:
    """The entry once declined: still holding nothing, until a new request is approved."""
    return replace(pending, requested_roles=frozenset(), status=Standing.DECLINED)


def standing_message(
    directory: Directory,
    person: Person,
    *,
    agency_name: str,
    contacts: Sequence[Person],
    roles: AgencyRoles = DEFAULT_ROLES,
) -> str:
    """What a person who is not active is told, whatever they tried: who must approve them (by
    name), and what they may do meanwhile."""
    if person.status == Standing.DECLINED:
        return (
            f"Your last request to join {agency_name} was declined, so I cannot act for you. "
            "Type 'profile' to ask again, naming your line manager, or ask "
            f"{who_to_ask(contacts)}. Meanwhile you can read 'help' and the signposts."
        )
    allowed = approvers(directory, person, roles)
    meanwhile = (
        "Until then you can read 'help' and the signposts, but you cannot raise a "
        "disagreement, see a case or act on one."
    )
    if allowed:
        return (
            f"Your request to join {agency_name} waits for approval by "
            f"{names([a.describe() for a in allowed])}: ask them to approve it. {meanwhile}"
        )
    return (
        f"Your request to join {agency_name} waits for approval, but nobody at {agency_name} "
        "can approve it in Teams (no line manager you named, and no agency administrator): ask "
        f"{who_to_ask(contacts)} to approve it or add you to the directory. {meanwhile}"
    )


def not_active(
    directory: Directory,
    person: Person,
    *,
    agency_name: str,
    contacts: Sequence[Person],
    roles: AgencyRoles = DEFAULT_ROLES,
) -> Refused:
    return _refuse(
        standing_message(directory, person, agency_name=agency_name, contacts=contacts, roles=roles)
    )
