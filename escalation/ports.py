"""What the core needs from the outside world, as interfaces: the case store and a notifier, the
directory, the access log, and the sweep's due index, nudge queue, lease and channels. Storage
and the bot implement them; the core names only these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol

from escalation.access_log import AccessEntry
from escalation.case import Case, evolve, fold
from escalation.directory import Directory
from escalation.events import Event
from escalation.notifications import Notification


@dataclass(frozen=True)
class StoredCase:
    """A case's history as stored, and (`case`) what it folds up to.

    `folded`, when the repository kept one (a case it read or saved before), is the fold of the
    history's first `folded.version` events: `case` then folds only the events after it."""

    events: Sequence[Event]
    folded: Case | None = field(default=None, compare=False, repr=False)

    @property
    def version(self) -> int:
        return len(self.events)

    @cached_property
    def case(self) -> Case:
        """The events folded (once: a frozen dataclass's cached_property keeps its value)."""
        start = self.folded
        if start is None or not 0 < start.version <= len(self.events):
            return fold(self.events)
        return evolve(start, self.events[start.version :])

    def fold_so_far(self) -> Case | None:
        """The longest fold of this history already made: `case` once asked for, else `folded`."""
        made: Case | None = self.__dict__.get("case")
        return made if made is not None else self.folded


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


class DirectorySource(Protocol):
    async def snapshot(self) -> Directory: ...


class AccessLog(Protocol):
    async def record(self, entry: AccessEntry) -> None:
        """Add one view to the log (never replacing another)."""
        ...

    async def record_all(self, entries: Sequence[AccessEntry]) -> None:
        """Add several views of one subject at once (one write where the store allows)."""
        ...

    async def entries(self, subject: str) -> Sequence[AccessEntry]:
        """Every view of the subject, oldest first."""
        ...


# -- the sweep's (escalation.sweep) -------------------------------------------------------------


@dataclass(frozen=True)
class DueHint:
    """An index entry saying a case's clock falls due then; it may be stale."""

    case_id: str
    stage: str
    clock: str
    due: datetime
    handle: object = field(default=None, compare=False)  # what the index needs to forget it


class DueIndex(Protocol):
    async def due_hints(self, until: datetime) -> list[DueHint]: ...

    async def forget(self, hint: DueHint) -> None: ...


class NudgeQueue(Protocol):
    async def queue(self, notification: Notification, now: datetime) -> bool:
        """Put it in the outbox; False if that key is already there."""
        ...


class SweepLease(Protocol):
    async def take(self, now: datetime) -> bool: ...

    async def release(self) -> None: ...


class Channels(Protocol):
    async def has_channel(self, board_id: str) -> bool: ...
