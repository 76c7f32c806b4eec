"""A message the bot could not deliver, recorded on the case by the bot itself."""

from __future__ import annotations

from escalation.access import require_open
from escalation.case import Case, CaseStatus
from escalation.commands import RecordDeliveryFailure
from escalation.errors import RefusalCode
from escalation.events import EventDraft
from escalation.rules.context import SYSTEM, Context, refuse


def record_delivery_failure(
    case: Case, command: RecordDeliveryFailure, ctx: Context
) -> list[EventDraft]:
    if command.actor_id != SYSTEM:
        raise refuse(RefusalCode.NOT_PERMITTED, "Only the bot records a failed delivery.")
    if case.status == CaseStatus.CLOSED:
        require_open(case)
    if any(f.recipient_id == command.recipient_id for f in case.delivery_failures):
        # Told once is enough: a second failure for the same person must not start a loop.
        raise refuse(
            RefusalCode.INVALID_STATE, "This person's failed delivery is already recorded."
        )
    return [
        EventDraft(
            "DeliveryFailed",
            {
                "recipient_id": command.recipient_id,
                "kind": command.kind,
                "error": command.error[:500],
            },
        )
    ]
