"""The outbox: messages saved with the change that caused them, sent afterwards, marked when sent.

A message row lives in its case's partition (saved in the case's transaction, see
`storage.cases`); an `OutboxPending` hint, written before that transaction, lets the dispatcher
find unsent messages after a restart without reading every case.

Each message moves pending → sending (claimed with an ETag, so two instances never both send it)
→ sent, or back to pending with a later attempt time, or to failed when delivery can never work.
A claim is a lease: if the instance that holds it dies, the lease runs out and another instance
sends the message. The one window in which a message can go out twice is a crash after the
channel accepted it and before it was marked sent: the Bot Connector has no idempotent send.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from escalation.delivery import MAX_ATTEMPTS, Delivery, DeliveryResult
from escalation.notifications import Notification
from storage.cases import TableNames, entity_notification, outbox_row
from storage.tables import (
    ROW_KEY,
    ConcurrencyConflict,
    Entity,
    EntityNotFound,
    Op,
    StoredEntity,
    TableStore,
    batches,
)

PENDING_PARTITION: Final = "pending"
# A hint whose message row is missing this long after it was written belongs to a change that
# was never saved (the transaction failed or the process died before it).
ORPHAN_GRACE: Final = timedelta(minutes=10)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxItem:
    notification: Notification
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    etag: str
    hint_key: str
    lease_until: datetime | None = None
    last_error: str | None = None
    # The row as read or last written with `etag`, so that claiming and marking it need not
    # read it again (an update quoting the ETag fails if it changed meanwhile).
    row: Entity | None = field(default=None, compare=False, repr=False)
    # Its hint in `OutboxPending` as read, so that a later attempt can be noted on it.
    hint: Entity | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.notification.key


@dataclass
class DispatchReport:
    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # The messages that can never be delivered, with why: the case must record them.
    failures: list[tuple[Notification, str]] = field(default_factory=list)
    skipped: int = 0


def _utc(value: object) -> datetime:
    assert isinstance(value, datetime), value
    return value.astimezone(UTC)


def _not_before(hint: Entity) -> datetime:
    """When a hinted message is next worth reading (a hint without one: at once)."""
    value = hint.get("not_before")
    return _utc(value) if value is not None else datetime.min.replace(tzinfo=UTC)


def _item(row: StoredEntity, hint_key: str, hint: Entity | None = None) -> OutboxItem:
    e = row.entity
    return OutboxItem(
        row=e,
        hint=hint,
        notification=entity_notification(e),
        status=DeliveryStatus(str(e["status"])),
        attempts=int(e["attempts"]),
        next_attempt_at=_utc(e["next_attempt_at"]),
        created_at=_utc(e["created_at"]),
        etag=row.etag,
        hint_key=hint_key,
        lease_until=_utc(e["lease_until"]) if "lease_until" in e else None,
        last_error=str(e["last_error"]) if "last_error" in e else None,
    )


class TableOutbox:
    def __init__(
        self,
        store: TableStore,
        tables: TableNames | None = None,
        *,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._store = store
        self._t = tables or TableNames()
        self._lease = lease
        self._max_attempts = max_attempts

    async def due(self, now: datetime, *, limit: int = 100) -> tuple[list[OutboxItem], int]:
        """Messages that may be sent now, oldest first; and how many stale hints were removed.

        The hints say which messages to read, oldest first, and a later attempt's time
        (`not_before`, from `retry_later`): messages are read `limit` at a time until `limit`
        are ready, so a pass over a long backlog (after an outage) reads what it sends, not the
        whole backlog."""
        hints = await self._store.query_partition(self._t.outbox_pending, PENDING_PARTITION)
        waiting = sorted(
            (h.entity for h in hints if _not_before(h.entity) <= now),
            key=lambda e: (_utc(e["written_at"]), str(e[ROW_KEY])),
        )
        ready: list[OutboxItem] = []
        orphans = 0
        for start in range(0, len(waiting), limit):
            chunk = waiting[start : start + limit]
            rows = await asyncio.gather(
                *(self._store.get(self._t.cases, str(h["case_id"]), str(h["row"])) for h in chunk)
            )
            for hint, row in zip(chunk, rows, strict=True):
                hint_key = str(hint[ROW_KEY])
                if row is None:
                    if now - _utc(hint["written_at"]) > ORPHAN_GRACE:
                        await self._forget(hint_key)
                        orphans += 1
                    continue
                item = _item(row, hint_key, hint)
                if item.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
                    await self._forget(hint_key)  # finished; the hint outlived a crash
                    continue
                leased = item.status == DeliveryStatus.SENDING and (
                    item.lease_until is not None and item.lease_until > now
                )
                if not leased and item.next_attempt_at <= now:
                    ready.append(item)
            if len(ready) >= limit:
                break
        ready.sort(key=lambda i: (i.created_at, i.key))
        return ready[:limit], orphans

    async def claim(self, item: OutboxItem, now: datetime) -> OutboxItem | None:
        """Take the message for sending; None if another instance took or finished it first."""
        update = await self._claimed_row(item, now)
        try:
            etag = await self._store.update(self._t.cases, update, item.etag)
        except (ConcurrencyConflict, EntityNotFound):
            return None
        return self._claimed(item, update, etag, now)

    async def claim_all(self, items: Sequence[OutboxItem], now: datetime) -> list[OutboxItem]:
        """Take several messages of one case for sending, in one transaction (the messages of a
        change share their case's partition): one write, where claiming each is one apiece.
        If another instance took or finished any of them first, the transaction changes nothing
        and each is claimed on its own, so that the rest are still sent."""
        if len({item.notification.case_id for item in items}) > 1:
            raise ValueError("claim_all takes the messages of one case")
        claimed: list[OutboxItem] = []
        for batch in batches(items):
            updates = [await self._claimed_row(item, now) for item in batch]
            try:
                etags = await self._store.transact(
                    self._t.cases,
                    [Op.update(row, item.etag) for row, item in zip(updates, batch, strict=True)],
                )
            except (ConcurrencyConflict, EntityNotFound):
                claimed += [c for item in batch if (c := await self.claim(item, now)) is not None]
                continue
            claimed += [
                self._claimed(item, row, etag, now)
                for item, row, etag in zip(batch, updates, etags, strict=True)
            ]
        return claimed

    async def _claimed_row(self, item: OutboxItem, now: datetime) -> Entity:
        update = await self._entity(item)
        update.update(
            {
                "status": DeliveryStatus.SENDING.value,
                "attempts": item.attempts + 1,
                "lease_until": now + self._lease,
            }
        )
        return update

    def _claimed(self, item: OutboxItem, row: Entity, etag: str, now: datetime) -> OutboxItem:
        return OutboxItem(
            row=row,
            notification=item.notification,
            status=DeliveryStatus.SENDING,
            attempts=item.attempts + 1,
            next_attempt_at=item.next_attempt_at,
            created_at=item.created_at,
            etag=etag,
            hint_key=item.hint_key,
            lease_until=now + self._lease,
            hint=item.hint,
        )

    async def mark_sent(self, item: OutboxItem, now: datetime) -> None:
        """Record the message as sent, the moment it was (each on its own: a crash between
        messages resends at most the one in flight). Its hint stays for `forget_all` to remove
        with others': a sent message's hint is only a stale pointer, which `due` drops if a
        crash leaves it."""
        await self._update(item, {"status": DeliveryStatus.SENT.value, "sent_at": now})

    async def forget_all(self, items: Sequence[OutboxItem]) -> None:
        """Remove the hints of finished messages, a batch at a time; one that is already gone
        (another instance's `due` dropped it) fails its batch, whose hints then go one by one."""
        for chunk in batches([item.hint_key for item in items]):
            ops = [Op.delete(PENDING_PARTITION, key) for key in chunk]
            try:
                await self._store.transact(self._t.outbox_pending, ops)
            except EntityNotFound:
                for key in chunk:
                    await self._forget(key)

    async def retry_later(self, item: OutboxItem, at: datetime, error: str) -> bool:
        """Put the message back for a later attempt; False when it has had its last attempt."""
        if item.attempts >= self._max_attempts:
            await self.mark_failed(item, f"gave up after {item.attempts} attempts: {error}")
            return False
        await self._update(
            item,
            {
                "status": DeliveryStatus.PENDING.value,
                "next_attempt_at": at,
                "last_error": error[:1000],
            },
        )
        if item.hint is not None:
            # Noted on the hint too, so that `due` passes over it until then without reading
            # it. Only an aid: if this write is lost, `due` reads the message and waits anyway.
            await self._store.upsert(self._t.outbox_pending, {**item.hint, "not_before": at})
        return True

    async def mark_failed(self, item: OutboxItem, error: str) -> None:
        await self._finish(
            item, {"status": DeliveryStatus.FAILED.value, "last_error": error[:1000]}
        )

    async def _finish(self, item: OutboxItem, changes: dict[str, object]) -> None:
        await self._update(item, changes)
        await self._forget(item.hint_key)

    async def _update(self, item: OutboxItem, changes: dict[str, object]) -> None:
        update = await self._entity(item)
        update.pop("lease_until", None)
        update.update(changes)
        # The claim's ETag: a write here fails if the lease was lost to another instance.
        await self._store.update(self._t.cases, update, item.etag)

    async def _entity(self, item: OutboxItem) -> Entity:
        if item.row is not None:
            return dict(item.row)
        row = await self._store.get(
            self._t.cases, item.notification.case_id, item.hint_key.split("|", 1)[1]
        )
        if row is None:
            raise EntityNotFound(f"outbox message {item.key} is gone")
        return dict(row.entity)

    async def _forget(self, hint_key: str) -> None:
        await self._store.delete(self._t.outbox_pending, PENDING_PARTITION, hint_key)

    async def message(self, case_id: str, key: str) -> OutboxItem | None:
        row = await self._store.get(self._t.cases, case_id, outbox_row(key))
        return None if row is None else _item(row, f"{case_id}|{outbox_row(key)}")


Send = Callable[[Notification], Awaitable[Delivery]]


def jittered_backoff(attempt: int, *, rng: random.Random | None = None) -> timedelta:
    """2, 4, 8 … seconds, at most 15 minutes, each ±20%: instances that failed together do not
    all retry at the same moment."""
    base = min(2**attempt, 900)
    return timedelta(seconds=base * (rng or random).uniform(0.8, 1.2))


async def dispatch_once(
    outbox: TableOutbox,
    send: Send,
    now: datetime,
    *,
    limit: int = 100,
    backoff: Callable[[int], timedelta] | None = None,
) -> DispatchReport:
    """Send what is due once: claim, send, mark. Safe to run in several instances at once.

    A case's messages (a change's card to each person it concerns) are claimed together, each
    is marked sent as soon as it is, and their hints are removed together after."""
    report = DispatchReport()
    items, _ = await outbox.due(now, limit=limit)
    for group in _by_case(items):
        claimed = await outbox.claim_all(group, now)
        report.skipped += len(group) - len(claimed)
        sent: list[OutboxItem] = []
        for item in claimed:
            try:
                delivery = await send(item.notification)
            except Exception as exc:  # a sender fault is a failed attempt, never a lost message
                delivery = Delivery(DeliveryResult.RETRY, error=f"{type(exc).__name__}: {exc}")
            if delivery.result == DeliveryResult.SENT:
                await outbox.mark_sent(item, now)
                sent.append(item)
                report.sent.append(item.key)
            elif delivery.result == DeliveryResult.PERMANENT:
                error = delivery.error or "permanent failure"
                await outbox.mark_failed(item, error)
                report.failed.append(item.key)
                report.failures.append((item.notification, error))
            else:
                wait = delivery.retry_after or (backoff or jittered_backoff)(item.attempts)
                if await outbox.retry_later(item, now + wait, delivery.error or "retry"):
                    report.retried.append(item.key)
                else:
                    report.failed.append(item.key)
        await outbox.forget_all(sent)
    return report


def _by_case(items: Sequence[OutboxItem]) -> Iterator[list[OutboxItem]]:
    """The items grouped by case, each group in the order its first item came."""
    groups: dict[str, list[OutboxItem]] = {}
    for item in items:
        groups.setdefault(item.notification.case_id, []).append(item)
    yield from groups.values()
