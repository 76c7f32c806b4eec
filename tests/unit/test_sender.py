"""Proactive sending: pacing per conversation and how connector failures are classified."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from bot.sender import Pacer, classify
from escalation.delivery import DeliveryResult


async def test_sends_to_one_conversation_are_spaced_and_others_are_not() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(interval=0.2, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait("chat-a")  # back to back: the second and third wait their turn
    await pacer.wait("chat-b")  # another conversation does not wait for the first
    assert slept == [0.2, 0.2]
    now[0] += 1.0
    await pacer.wait("chat-a")  # long enough since the last: no wait
    assert slept == [0.2, 0.2]


class ResponseError(Exception):
    """An error that carries the connector's answer in `response`, as msrest's errors do."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        super().__init__("connector said no")
        self.response = SimpleNamespace(status_code=status, headers=headers)


def error(status: int, headers: dict[str, str] | None = None) -> Exception:
    return ResponseError(status, headers or {})


def test_throttling_and_outages_are_retried_honouring_retry_after() -> None:
    throttled = classify(error(429, {"Retry-After": "7"}))
    assert (throttled.result, throttled.retry_after) == (DeliveryResult.RETRY, timedelta(seconds=7))
    outage = classify(error(503))
    assert (outage.result, outage.retry_after) == (DeliveryResult.RETRY, None)
    assert classify(ConnectionResetError("reset")).result == DeliveryResult.RETRY


def test_a_removed_app_is_a_permanent_failure() -> None:
    for status in (403, 404):
        gone = classify(error(status))
        assert (
            gone.result == DeliveryResult.PERMANENT
            and gone.error is not None
            and str(status) in gone.error
        )
