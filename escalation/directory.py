"""People, their agencies and roles: who can be asked to act on a case.

The core reads an in-memory snapshot; storage loads it (the directory is small: hundreds of
people per board), so the rules that decide who may act stay pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


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
        )


@dataclass(frozen=True)
class Directory:
    """A snapshot of the people the bot knows."""

    people: Mapping[str, Person] = field(default_factory=dict)

    @classmethod
    def of(cls, people: Iterable[Person]) -> Directory:
        index: dict[str, Person] = {}
        for person in people:
            if person.id in index:
                raise ValueError(f"person {person.id!r} appears twice in the directory")
            index[person.id] = person
        return cls(index)

    def person(self, person_id: str | None) -> Person | None:
        return None if person_id is None else self.people.get(person_id)

    def line_manager_of(self, person_id: str | None) -> Person | None:
        person = self.person(person_id)
        return None if person is None else self.person(person.line_manager_id)

    def holders(self, role: str, agency_id: str) -> list[Person]:
        return sorted(
            (p for p in self.people.values() if p.agency_id == agency_id and p.holds(role)),
            key=lambda p: p.id,
        )

    def board_holders(self, board_id: str, role: str) -> list[Person]:
        return sorted(
            (p for p in self.people.values() if p.holds_board_role(board_id, role)),
            key=lambda p: p.id,
        )


class DirectorySource(Protocol):
    async def snapshot(self) -> Directory: ...


@dataclass(frozen=True)
class StaticDirectory:
    """A directory that never changes: tests and the sample data."""

    directory: Directory

    async def snapshot(self) -> Directory:
        return self.directory
