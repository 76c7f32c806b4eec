"""The core's delivery-failure policy: which failures are final, and what the case records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.commands import RecordDeliveryFailure
from escalation.delivery import DeliveryResult, after_failure, failure_record
from escalation.notifications import Notification, Recipient


@pytest.mark.parametrize("status", [403, 404])
def test_a_recipient_that_cannot_be_reached_is_final(status: int) -> None:
    delivery = after_failure(status)
    assert delivery.result == DeliveryResult.PERMANENT
    assert delivery.error is not None and delivery.error.startswith(f"{status}: ")


@pytest.mark.parametrize("status", [400, 408, 429, 500, 502, 503])
def test_anything_else_is_tried_again_when_the_channel_asks(status: int) -> None:
    delivery = after_failure(status, retry_after=timedelta(seconds=7))
    assert (delivery.result, delivery.retry_after, delivery.error) == (
        DeliveryResult.RETRY,
        timedelta(seconds=7),
        str(status),
    )


def test_a_failure_with_no_answer_is_tried_again_and_named() -> None:
    delivery = after_failure(None, fault="ConnectionResetError")
    assert (delivery.result, delivery.retry_after, delivery.error) == (
        DeliveryResult.RETRY,
        None,
        "ConnectionResetError",
    )


def _message(recipient: Recipient) -> Notification:
    return Notification(
        case_id="RB-2026-K7QX2M",
        event_seq=3,
        kind="stage_entered",
        recipient=recipient,
        reason="you act at stage 2",
        stage="2",
    )


def test_a_person_not_told_is_recorded_on_the_case_by_the_system() -> None:
    record = failure_record(_message(Recipient.person("megan")), "404: gone")
    assert record == RecordDeliveryFailure(
        actor_id="system",
        case_id="RB-2026-K7QX2M",
        recipient_id="megan",
        kind="stage_entered",
        error="404: gone",
    )


def test_a_channel_copy_names_no_one_on_the_case_so_nothing_is_recorded() -> None:
    assert (
        failure_record(_message(Recipient.business_manager_channel("redbridge")), "404: gone")
        is None
    )
