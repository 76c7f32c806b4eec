"""When a message cannot be delivered: which failures are final, and what the case records.

The edge that sends (bot/sender.py) only maps what its channel answered onto `after_failure`;
the outbox (storage/outbox.py) tries again what is not final, up to `MAX_ATTEMPTS`; and a message
that can never arrive is recorded on its case through `failure_record` (the rule that records
it, once for each person, is escalation/rules/delivery.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from escalation.commands import RecordDeliveryFailure
from escalation.notifications import Notification
from escalation.rules.context import SYSTEM

# Answers that say the recipient can never be reached this way: the app was removed, or the
# conversation is gone. Anything else (throttled, an outage, the network) may pass.
UNREACHABLE_STATUSES: Final = frozenset({403, 404})
# A message that is not delivered after this many attempts is given up (with the outbox's
# backoff of 2 s doubling to 15 minutes, about an hour and a half).
MAX_ATTEMPTS: Final = 12


class DeliveryResult(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # a 429, a 5xx or a network fault: try again later
    PERMANENT = "permanent"  # the recipient cannot be reached (app removed, no conversation)


@dataclass(frozen=True)
class Delivery:
    result: DeliveryResult
    retry_after: timedelta | None = None
    error: str | None = None


def after_failure(
    status: int | None, *, retry_after: timedelta | None = None, fault: str = "error"
) -> Delivery:
    """What a failed attempt means: final when the channel's answer (`status`) says the
    recipient cannot be reached; otherwise tried again, after `retry_after` when the channel
    asked for it. `fault` names a failure with no status (a broken connection)."""
    if status in UNREACHABLE_STATUSES:
        return Delivery(
            DeliveryResult.PERMANENT,
            error=f"{status}: the recipient cannot be reached (app removed or conversation gone)",
        )
    return Delivery(DeliveryResult.RETRY, retry_after=retry_after, error=f"{status or fault}")


def failure_record(notification: Notification, error: str) -> RecordDeliveryFailure | None:
    """What the case records of a message that can never arrive: a person not told is recorded
    on the case, so that the people on it tell them by hand. A copy for a board's channel names
    no one on the case: None, and the edge only logs it."""
    if notification.recipient.kind != "person":
        return None
    return RecordDeliveryFailure(
        actor_id=SYSTEM,
        case_id=notification.case_id,
        recipient_id=notification.recipient.id,
        kind=notification.kind,
        error=error,
    )
