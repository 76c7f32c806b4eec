"""What the case tests read off a case: a clock's due time and status, who was told of what, and
the refusal a command gets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pytest

from escalation.case import Case, ClockStatus
from escalation.commands import Command
from escalation.errors import RefusalCode, Refused
from escalation.notifications import Notification
from escalation.service import EscalationService, Outcome


def due(outcome_or_case: Outcome | Case, stage: str, clock: str) -> datetime:
    case = outcome_or_case.case if isinstance(outcome_or_case, Outcome) else outcome_or_case
    [found] = [c for c in case.clocks if c.stage == stage and c.clock == clock]
    return found.effective_due


def status(case: Case, stage: str, clock: str) -> ClockStatus:
    [found] = [c for c in case.clocks if c.stage == stage and c.clock == clock]
    return found.status


def told(outcome: Outcome, kind: str) -> set[str]:
    return {n.recipient.key for n in outcome.notifications if n.kind == kind}


async def refused(service: EscalationService, command: Command, code: RefusalCode) -> Refused:
    with pytest.raises(Refused) as info:
        await service.execute(command)
    assert info.value.code == code, info.value.reason
    return info.value


def at(iso: str) -> datetime:
    """A moment as a test types it: ISO 8601, always with its offset."""
    value = datetime.fromisoformat(iso)
    assert value.tzinfo is not None
    return value


def sent(notifications: Iterable[Notification]) -> set[tuple[str, str]]:
    """(kind, recipient) of each message."""
    return {(n.kind, n.recipient.key) for n in notifications}


def dues(case: Case, stage: str) -> dict[str, tuple[str, str]]:
    """Each clock of `stage`: its due time and status."""
    return {c.clock: (c.due.isoformat(), c.status.value) for c in case.clocks if c.stage == stage}
