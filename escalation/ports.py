"""What the core needs from the outside world, as interfaces: storage and a sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from escalation.case import Case
from escalation.events import Event
from escalation.notifications import Notification


@dataclass(frozen=True)
class StoredCase:
    events: Sequence[Event]

    @property
    def version(self) -> int:
        return len(self.events)


class CaseRepository(Protocol):
    async def load(self, case_id: str) -> StoredCase | None: ...

    async def save(
        self,
        case: Case,
        new_events: Sequence[Event],
        notifications: Sequence[Notification],
        *,
        expected_version: int,
        previous: Case | None = None,
    ) -> None:
        """Save the new events, the case's state and its notifications together, or none.

        Raises `ConcurrencyConflict` if the case's version in storage is not `expected_version`.
        `previous` is the case as it stood at that version (None for a new case): a repository
        with indexes may write only the index entries the change adds.
        """
        ...


class Notifier(Protocol):
    async def notify(self, notifications: Sequence[Notification]) -> None:
        """Told after a save: the notifications are in the outbox and may now be sent."""
        ...
