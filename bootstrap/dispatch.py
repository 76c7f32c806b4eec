"""The app's background work: sending the outbox, and sweeping for nudges as clocks fall due.

What becomes of a message that can never be delivered is the core's to say
(escalation/delivery.py); here it is carried out, and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bootstrap.build import Clock
from escalation.delivery import Delivery, failure_record
from escalation.errors import Refused
from escalation.notifications import Notification
from escalation.service import EscalationService
from storage.join_requests import SendNotice, deliver_notices
from storage.outbox import dispatch_once
from storage.scheduler import Scheduler
from storage.stores import Storage

log = logging.getLogger("escalation.app")


class Sender(Protocol):
    """What sends the outbox's messages (bot.sender.TeamsSender)."""

    async def __call__(self, notification: Notification) -> Delivery: ...

    def one_pass(self) -> AbstractAsyncContextManager[None]:
        """Around one pass over the outbox (the sender may read each case once in it, and log
        the pass's views together at its end)."""
        ...


class WakeDispatcher:
    """The core's notifier: the messages are already in the outbox; wake the dispatcher."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def notify(self, notifications: Sequence[Notification]) -> None:
        if notifications:
            self.event.set()


async def record_failure(
    service: EscalationService, notification: Notification, error: str
) -> None:
    """A message that can never arrive: recorded on its case as the core says, else logged."""
    command = failure_record(notification, error)
    if command is None:
        log.error(
            "business-manager copy for %s could not be delivered: %s", notification.case_id, error
        )
        return
    try:
        await service.execute(command)
    except Refused as refusal:
        log.info("delivery failure on %s not recorded: %s", notification.case_id, refusal.code)


async def deliver_request_notices(storage: Storage, notices: SendNotice, now: datetime) -> None:
    """The approval cards of requests to join an agency, and their decisions: stored with the
    request, sent from here, and retried until they arrive."""
    try:
        report = await deliver_notices(storage.requests, notices, now)
    except Exception:  # storage outage: the notices wait in storage
        log.exception("request notices failed; will try again")
        return
    for key in report.failed:
        log.error("a request notice can never be delivered: %s", key)
    if report.sent or report.retried:
        log.info("request notices: %d sent, %d retried", len(report.sent), len(report.retried))


async def dispatch_forever(
    storage: Storage,
    service: EscalationService,
    send: Sender,
    notices: SendNotice,
    wake: WakeDispatcher,
    clock: Clock,
    interval_seconds: float,
) -> None:
    """Sends the outbox: woken after each change, and every `interval_seconds` for retries."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.event.wait(), interval_seconds)
        wake.event.clear()
        await deliver_request_notices(storage, notices, clock())
        try:
            async with send.one_pass():
                report = await dispatch_once(storage.outbox, send, clock())
            for notification, error in report.failures:
                await record_failure(service, notification, error)
            if report.sent or report.failed:
                log.info(
                    "outbox: %d sent, %d retried, %d failed",
                    len(report.sent),
                    len(report.retried),
                    len(report.failed),
                )
        except Exception:  # storage outage: the messages wait in the outbox
            log.exception("outbox dispatch failed; will try again")


async def sweep_forever(
    sweeper: Scheduler, wake: WakeDispatcher, clock: Clock, interval_seconds: float
) -> None:
    """Sweeps for nudges every `interval_seconds`; the lease lets one instance sweep at a time."""
    while True:
        try:
            report = await sweeper.sweep(clock())
            if report.queued:
                log.info("sweep: %d nudge(s) queued", len(report.queued))
                wake.event.set()
            if report.no_pack:
                log.warning("sweep: %d case(s) of a board with no pack", len(report.no_pack))
        except Exception:  # storage outage: the next sweep finds the same clocks
            log.exception("sweep failed; will try again")
        await asyncio.sleep(interval_seconds)


@contextlib.asynccontextmanager
async def running(work: asyncio.Task[None]) -> AsyncIterator[None]:
    """Keep a background task running while the block runs, and stop it after."""
    try:
        yield
    finally:
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
