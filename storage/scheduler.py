"""The scheduler on storage: the ports (`escalation.ports`) the core's sweep runs on.

The due index (`DueIndex` table), the outbox (a nudge is an outbox row in its case's partition,
inserted only if its key is not there yet), the business-manager channels, and a lease in storage
that lets one instance sweep at a time; a dead holder's lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Final

from escalation.notifications import Notification
from escalation.packs import PackRegistry
from escalation.ports import DirectorySource, DueHint
from escalation.sweep import SweepReport, SweepService
from storage.cases import (
    TableCaseRepository,
    TableNames,
    notification_entity,
    outbox_row,
)
from storage.conversations import ConversationStore
from storage.tables import PARTITION_KEY, ROW_KEY, ConcurrencyConflict, EntityExists, TableStore

log = logging.getLogger("escalation.scheduler")

LEASE_PARTITION: Final = "lease"
LEASE_ROW: Final = "scheduler"


class Lease:
    """One holder at a time, for a while: taken with an ETag, so two instances cannot both win."""

    def __init__(self, store: TableStore, table: str, *, holder: str, length: timedelta) -> None:
        self._store = store
        self._table = table
        self.holder = holder
        self._length = length

    async def take(self, now: datetime) -> bool:
        found = await self._store.get(self._table, LEASE_PARTITION, LEASE_ROW)
        entity = {
            PARTITION_KEY: LEASE_PARTITION,
            ROW_KEY: LEASE_ROW,
            "holder": self.holder,
            "expires_at": now + self._length,
        }
        try:
            if found is None:
                await self._store.insert(self._table, entity)
                return True
            expires = found.entity["expires_at"]
            if found.entity["holder"] != self.holder and expires > now:
                return False  # another instance holds it and is alive
            await self._store.update(self._table, entity, found.etag)
            return True
        except (EntityExists, ConcurrencyConflict):
            return False  # another instance took it at the same moment

    async def release(self) -> None:
        found = await self._store.get(self._table, LEASE_PARTITION, LEASE_ROW)
        if found is not None and found.entity["holder"] == self.holder:
            # Taken over after it ran out? Then it is theirs now: leave it.
            with contextlib.suppress(ConcurrencyConflict):
                await self._store.delete(self._table, LEASE_PARTITION, LEASE_ROW, found.etag)


# A hint younger than this may belong to a save whose transaction has not landed yet (hints are
# written first): the sweep leaves it for a later sweep rather than judge it stale now. A save
# writes only the hints it adds (storage.cases), so a hint dropped in that window would not
# come back.
HINT_GRACE: Final = timedelta(minutes=10)


class _DueIndex:
    def __init__(self, cases: TableCaseRepository) -> None:
        self._cases = cases
        self.now: datetime | None = None  # the moment of the sweep under way

    async def due_hints(self, until: datetime) -> list[DueHint]:
        hints = []
        for row in await self._cases.due_hints(until):
            _, stage, clock = str(row[ROW_KEY]).split("|")
            due = row["due"]
            assert isinstance(due, datetime)
            hints.append(DueHint(str(row["case_id"]), stage, clock, due, handle=row))
        return hints

    async def forget(self, hint: DueHint) -> None:
        assert isinstance(hint.handle, dict)
        written = hint.handle.get("written_at")
        if (
            self.now is not None
            and isinstance(written, datetime)
            and self.now - written < HINT_GRACE
        ):
            return
        await self._cases.forget_due_hint(hint.handle)


class _Outbox:
    def __init__(self, store: TableStore, tables: TableNames) -> None:
        self._store = store
        self._tables = tables

    async def queue(self, notification: Notification, now: datetime) -> bool:
        row = outbox_row(notification.key)
        # The hint first, as for any message: a crash between the two leaves a harmless hint.
        await self._store.upsert(
            self._tables.outbox_pending,
            {
                PARTITION_KEY: "pending",
                ROW_KEY: f"{notification.case_id}|{row}",
                "case_id": notification.case_id,
                "row": row,
                "written_at": now,
            },
        )
        try:
            await self._store.insert(
                self._tables.cases, notification_entity(notification, created_at=now)
            )
        except EntityExists:
            return False  # queued by an earlier sweep (or another instance): once is enough
        return True


class _Channels:
    def __init__(self, conversations: ConversationStore) -> None:
        self._conversations = conversations

    async def has_channel(self, board_id: str) -> bool:
        return await self._conversations.channel(board_id) is not None


class Scheduler:
    """The core's sweep (`escalation.sweep`) on this storage: its due index, outbox and lease."""

    def __init__(
        self,
        *,
        store: TableStore,
        tables: TableNames,
        cases: TableCaseRepository,
        packs: PackRegistry,
        directory: DirectorySource,
        holder: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        conversations: ConversationStore | None = None,
    ) -> None:
        self._store = store
        self._tables = tables
        self._due_index = _DueIndex(cases)
        self._service = SweepService(
            packs=packs,
            repository=cases,
            directory=directory,
            due_index=self._due_index,
            queue=_Outbox(store, tables),
            lease=Lease(
                store,
                tables.leases,
                holder=holder or f"instance-{uuid.uuid4().hex[:12]}",
                length=lease,
            ),
            channels=_Channels(conversations) if conversations is not None else None,
        )

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables([self._tables.leases])

    def horizon(self, now: datetime) -> datetime:
        return self._service.horizon(now)

    async def sweep(self, now: datetime) -> SweepReport:
        self._due_index.now = now
        return await self._service.sweep(now)
