"""People, their agencies and roles: who can be asked to act on a case.

The core reads an in-memory snapshot; storage loads it (the directory is small: hundreds of
people per board), so the rules that decide who may act stay pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any


class Standing(StrEnum):
    """Whether a directory entry carries authority. Only an active entry holds its roles, manages
    anyone or may act: a join or a change someone asked for in Teams waits for approval by
    someone who already holds authority at that agency (escalation.joining)."""

    ACTIVE = "active"
    PENDING = "pending"  # a request to join or change waits for approval
    DECLINED = "declined"  # the last request was declined: no authority until a new one is approved


def tenant_key(tenant_id: str) -> str:
    """A Microsoft Entra tenant id as compared: a GUID, in any case as written."""
    return tenant_id.strip().lower()


@dataclass(frozen=True)
class Agency:
    """An agency as the board's directory registers it: the Microsoft Entra tenants its people
    sign in to Teams from. An agency with no tenant is not on Teams: its people can be named as
    a party (by email) and are reached by hand, and nobody acts for it in Teams."""

    id: str
    tenants: frozenset[str] = frozenset()

    def lists(self, tenant_id: str | None) -> bool:
        return tenant_id is not None and tenant_key(tenant_id) in self.tenants

    @classmethod
    def of(cls, agency_id: str, tenants: Iterable[str]) -> Agency:
        return cls(agency_id, frozenset(tenant_key(t) for t in tenants))


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    agency_id: str
    roles: frozenset[str] = frozenset()  # agency roles: line_manager, safeguarding_lead...
    board_roles: frozenset[tuple[str, str]] = frozenset()  # (board id, role) pairs
    line_manager_id: str | None = None
    email: str | None = None
    # Optional: with the email, it tells apart two people of the same name in a picker.
    job_title: str | None = None
    status: Standing = Standing.ACTIVE
    # While pending: the roles approval would grant (the entry itself holds none until then).
    requested_roles: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.status == Standing.ACTIVE

    # What a list of people is ordered by and what a typed search matches, made once for each
    # entry of a snapshot: a search runs at every keystroke of the people picker, over every
    # entry of an agency.

    @cached_property
    def sort_key(self) -> tuple[str, str, str, str]:
        """By name, then job title and email (which tell apart two of one name), then id."""
        return (
            self.name.casefold(),
            (self.job_title or "").casefold(),
            (self.email or "").casefold(),
            self.id,
        )

    @cached_property
    def name_words(self) -> str:
        """The name's words, casefolded, one space between each."""
        return " ".join(self.name.casefold().split())

    @cached_property
    def search_text(self) -> str:
        """The words of the name, job title and email, as `name_words` are."""
        return " ".join(f"{self.name} {self.job_title or ''} {self.email or ''}".casefold().split())

    def holds(self, role: str) -> bool:
        return role in self.roles

    def holds_board_role(self, board_id: str, role: str) -> bool:
        return (board_id, role) in self.board_roles

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Person:
        """From a plain mapping (directory file or storage row); board roles as 'board:role'."""
        board_roles: set[tuple[str, str]] = set()
        for item in record.get("board_roles") or ():
            board, _, role = str(item).partition(":")
            if not board or not role:
                raise ValueError(f"board role {item!r} must be written 'board:role'")
            board_roles.add((board, role))
        return cls(
            id=str(record["id"]),
            name=str(record["name"]),
            agency_id=str(record["agency"]),
            roles=frozenset(str(r) for r in record.get("roles") or ()),
            board_roles=frozenset(board_roles),
            line_manager_id=record.get("line_manager"),
            email=record.get("email"),
            job_title=record.get("job_title"),
            status=Standing(record.get("status") or Standing.ACTIVE),
            requested_roles=frozenset(str(r) for r in record.get("requested_roles") or ()),
        )


@dataclass(frozen=True)
class Directory:
    """A snapshot of the people the bot knows, and of the agencies' Teams tenants.

    Every entry is here, whatever its standing, so that a pending person can be told who must
    approve them; the look-ups of authority (role holders, line managers, board roles) see
    active entries only.
    """

    people: Mapping[str, Person] = field(default_factory=dict)
    agencies: Mapping[str, Agency] = field(default_factory=dict)

    @classmethod
    def of(cls, people: Iterable[Person], agencies: Iterable[Agency] = ()) -> Directory:
        index: dict[str, Person] = {}
        for person in people:
            if person.id in index:
                raise ValueError(f"person {person.id!r} appears twice in the directory")
            index[person.id] = person
        registered: dict[str, Agency] = {}
        for agency in agencies:
            if agency.id in registered:
                raise ValueError(f"agency {agency.id!r} appears twice in the directory")
            registered[agency.id] = agency
        return cls(index, registered)

    def person(self, person_id: str | None) -> Person | None:
        """The entry, whatever its standing: ask `Person.active` before trusting it."""
        return None if person_id is None else self.people.get(person_id)

    def line_manager_of(self, person_id: str | None) -> Person | None:
        """The active line manager of an active person: a line manager named in a request
        manages nobody until it is approved."""
        person = self.person(person_id)
        if person is None or not person.active:
            return None
        manager = self.person(person.line_manager_id)
        return manager if manager is not None and manager.active else None

    def people_at(self, agency_id: str) -> tuple[Person, ...]:
        """Every entry at the agency, whatever its standing, by `Person.sort_key`."""
        found = self._sorted_at.get(agency_id)
        if found is None:  # each agency sorted when first asked for, not every one at once
            people = self._by_agency.get(agency_id, ())
            found = self._sorted_at[agency_id] = tuple(sorted(people, key=lambda p: p.sort_key))
        return found

    def holders(self, role: str, agency_id: str) -> list[Person]:
        """The active holders of an agency role there, by id."""
        return list(self._holders.get((agency_id, role), ()))

    def board_holders(self, board_id: str, role: str) -> list[Person]:
        """The active holders of a board role, by id."""
        return list(self._board_holders.get((board_id, role), ()))

    # The snapshot never changes, and every check of who may act asks who holds a role: index
    # the holders once rather than scan every entry for each question.

    @cached_property
    def _holders(self) -> dict[tuple[str, str], tuple[Person, ...]]:
        found: dict[tuple[str, str], list[Person]] = {}
        for person in self._active_by_id:
            for role in person.roles:
                found.setdefault((person.agency_id, role), []).append(person)
        return {key: tuple(people) for key, people in found.items()}

    @cached_property
    def _board_holders(self) -> dict[tuple[str, str], tuple[Person, ...]]:
        found: dict[tuple[str, str], list[Person]] = {}
        for person in self._active_by_id:
            for board_role in person.board_roles:
                found.setdefault(board_role, []).append(person)
        return {key: tuple(people) for key, people in found.items()}

    @cached_property
    def _by_agency(self) -> dict[str, list[Person]]:
        found: dict[str, list[Person]] = {}
        for person in self.people.values():
            found.setdefault(person.agency_id, []).append(person)
        return found

    @cached_property
    def _sorted_at(self) -> dict[str, tuple[Person, ...]]:
        return {}  # filled by people_at

    @cached_property
    def _active_by_id(self) -> tuple[Person, ...]:
        return tuple(sorted((p for p in self.people.values() if p.active), key=lambda p: p.id))

    def agency(self, agency_id: str) -> Agency:
        """The agency's registration; one the directory does not list has no tenant."""
        return self.agencies.get(agency_id) or Agency(agency_id)

    def lists_tenant(self, agency_id: str, tenant_id: str | None) -> bool:
        """Whether people signed in from `tenant_id` may act for `agency_id`."""
        return self.agency(agency_id).lists(tenant_id)

    def agencies_of_tenant(self, tenant_id: str | None) -> list[str]:
        """The agencies that list the tenant, by id."""
        if tenant_id is None:
            return []
        return list(self._agencies_by_tenant.get(tenant_key(tenant_id), ()))

    @cached_property
    def _agencies_by_tenant(self) -> dict[str, list[str]]:
        # Every message turn asks who its sender's tenant is: an index, made once a snapshot.
        found: dict[str, list[str]] = {}
        for agency in sorted(self.agencies.values(), key=lambda a: a.id):
            for tenant in agency.tenants:
                found.setdefault(tenant, []).append(agency.id)
        return found


@dataclass(frozen=True)
class StaticDirectory:
    """A directory that never changes: tests and the sample data."""

    directory: Directory

    async def snapshot(self) -> Directory:
        return self.directory
