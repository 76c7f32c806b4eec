"""In-memory fakes of the core's ports, for fast tests of the rules and the service."""

from __future__ import annotations

from collections.abc import Sequence

from escalation.case import Case
from escalation.errors import ConcurrencyConflict
from escalation.events import Event
from escalation.notifications import Notification
from escalation.ports import StoredCase


class InMemoryCaseRepository:
    def __init__(self) -> None:
        self.events: dict[str, list[Event]] = {}
        self.states: dict[str, Case] = {}
        self.outbox: dict[str, Notification] = {}

    async def load(self, case_id: str) -> StoredCase | None:
        events = self.events.get(case_id)
        return None if events is None else StoredCase(tuple(events))

    async def save(
        self,
        case: Case,
        new_events: Sequence[Event],
        notifications: Sequence[Notification],
        *,
        expected_version: int,
        previous: Case | None = None,
    ) -> None:
        current = len(self.events.get(case.id, ()))
        if current != expected_version:
            raise ConcurrencyConflict(f"case {case.id} is at {current}, not {expected_version}")
        self.events.setdefault(case.id, []).extend(new_events)
        self.states[case.id] = case
        for notification in notifications:
            self.outbox.setdefault(notification.key, notification)


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def notify(self, notifications: Sequence[Notification]) -> None:
        self.sent.extend(notifications)
