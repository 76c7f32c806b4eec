"""Build storage, the core's service and the scheduler, one way for the app, the CLI and tests."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from escalation.notifications import Notification
from escalation.packs import PackRegistry, default_policy_dir, resolve_pack
from escalation.ports import Notifier
from escalation.service import EscalationService
from storage.access_log import TableAccessLog
from storage.cases import TableCaseRepository, TableNames
from storage.conversations import ConversationStore
from storage.directory_store import DirectoryStore
from storage.outbox import TableOutbox
from storage.scheduler import Scheduler
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import StorageError, TableStore

log = logging.getLogger("escalation.storage")
T = TypeVar("T")
Clock = Callable[[], datetime]
StoreWrapper = Callable[[TableStore], TableStore]


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_packs(policies: Sequence[str] = (), policy_dir: Path | None = None) -> PackRegistry:
    """The packs named (board ids or paths), or every pack in the folder when none is named."""
    directory = policy_dir or default_policy_dir()
    if not policies:
        return PackRegistry.from_directory(directory)
    return PackRegistry(resolve_pack(name, directory) for name in policies)


async def open_storage(
    settings: StorageSettings, *, now: Clock = utc_now, wrap: StoreWrapper | None = None
) -> Storage:
    """Open the store and create any table that is missing; `wrap`, when given, wraps the store
    (benchmarks and tests count or delay its calls)."""
    store = settings.open_store()
    if wrap is not None:
        store = wrap(store)
    tables = TableNames(settings.table_prefix)
    cases = TableCaseRepository(store, tables)
    directory = DirectoryStore(store, now=now, table=tables.directory)
    conversations = ConversationStore(store, now=now, table=tables.conversations)
    access_log = TableAccessLog(store, table=tables.access_log)
    try:
        await cases.ensure_tables()
        await directory.ensure_tables()
        await conversations.ensure_tables()
        await access_log.ensure_tables()
    except BaseException:
        await store.close()  # storage that cannot be reached leaves no client open behind it
        raise
    return Storage(
        store, tables, cases, TableOutbox(store, tables), directory, conversations, access_log
    )


async def reach_store(settings: StorageSettings) -> None:
    """Reach the store once, and close it whatever happens. Raises StorageError when it cannot
    be reached (ValueError for a malformed connection string)."""
    store = settings.open_store()
    try:
        await store.ping()
    finally:
        await store.close()


async def reach_storage(settings: StorageSettings) -> None:
    """`reach_store`, with Azure storage tried again for up to `settings.start_wait_seconds`
    (a new role assignment takes minutes to spread): for start-up."""
    await when_storage_answers(settings, lambda: reach_store(settings))


async def open_storage_at_start(
    settings: StorageSettings, *, now: Clock = utc_now, wrap: StoreWrapper | None = None
) -> Storage:
    """`open_storage`, waiting for Azure storage as `reach_storage` does: the app's start."""
    storage = await when_storage_answers(
        settings, lambda: open_storage(settings, now=now, wrap=wrap)
    )
    log.info("storage: %s", settings.describe())
    return storage


async def when_storage_answers(
    settings: StorageSettings,
    attempt: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `attempt` (reach or open the store) until Azure storage answers, for start-up.

    A deployment assigns the app its table role and starts the app in the same run, and a role
    assignment takes minutes to reach the storage account: until then every call is refused.
    Azure storage is tried again with backoff (1 s doubling to 30 s) for up to
    `settings.start_wait_seconds`; the last error is raised after that. The embedded store, and
    a setting that is wrong (a ValueError), fail at once: waiting would not change them.
    """
    deadline = clock() + settings.start_wait_seconds
    delay = 1.0
    while True:
        try:
            return await attempt()
        except StorageError as exc:
            left = deadline - clock()
            if settings.engine != "azure" or left <= 0:
                raise
            wait = min(delay, left)
            log.warning(
                "storage did not answer yet (%s); trying again in %.0f s, for up to %.0f s more",
                type(exc).__name__,
                wait,
                left,
            )
            await sleep(wait)
            delay = min(delay * 2, 30.0)


class _Nobody:
    """A notifier for work with no dispatcher to wake (the messages wait in the outbox)."""

    async def notify(self, notifications: Sequence[Notification]) -> None:
        return None


def escalation_service(
    storage: Storage, packs: PackRegistry, *, now: Clock = utc_now, notifier: Notifier | None = None
) -> EscalationService:
    """The core's service on `storage`. `notifier` is told of the messages each change saved to
    the outbox (the app's wakes its dispatcher); without one they wait for the next dispatch."""
    return EscalationService(
        packs=packs,
        repository=storage.cases,
        directory=storage.directory,
        notifier=notifier or _Nobody(),
        now=now,
    )


async def scheduler(storage: Storage, packs: PackRegistry) -> Scheduler:
    """The sweep that queues nudges as clocks fall due, with its lease table made."""
    sweeper = Scheduler(
        store=storage.store,
        tables=storage.tables,
        cases=storage.cases,
        packs=packs,
        directory=storage.directory,
        conversations=storage.conversations,
    )
    await sweeper.ensure_tables()
    return sweeper
