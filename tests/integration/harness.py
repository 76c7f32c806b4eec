"""The case repository under test, with what it runs on: the in-memory fake, or the table
repository on SQLite or Azurite, each with a fixed clock and a service over it; and the storage
of a deployment, opened for a piece of work or driven by the command line."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from bootstrap.build import open_storage
from escalation.directory import StaticDirectory
from escalation.packs import PackRegistry
from escalation.ports import CaseRepository
from escalation.service import EscalationService
from storage.azure_engine import AzureTableStore
from storage.cases import TableCaseRepository, TableNames
from storage.settings import StorageSettings
from storage.sqlite_engine import SqliteTableStore
from storage.stores import Storage
from storage.tables import TableStore
from testkit import cli
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier
from testkit.people import POLICIES, make_directory

T = TypeVar("T")


@dataclass
class Harness:
    kind: str
    repository: CaseRepository
    clock: FakeClock
    store: TableStore | None = None
    tables: TableNames | None = None

    def service(self) -> EscalationService:
        return EscalationService(
            packs=PackRegistry.from_directory(POLICIES),
            repository=self.repository,
            directory=StaticDirectory(make_directory()),
            notifier=RecordingNotifier(),
            now=self.clock,
        )


async def open_harness(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Harness]:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    if kind == "memory":
        yield Harness("memory", InMemoryCaseRepository(), clock)
        return
    store: TableStore
    if kind == "azure":
        store = AzureTableStore(request.getfixturevalue("azurite_connection_string"))
    else:
        store = SqliteTableStore(tmp_path / "data")
    # Azurite lives for the whole session: each test gets tables of its own.
    tables = TableNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    repository = TableCaseRepository(store, tables)
    await repository.ensure_tables()
    try:
        yield Harness(kind, repository, clock, store, tables)
    finally:
        await store.close()


async def with_storage(settings: StorageSettings, work: Callable[[Storage], Awaitable[T]]) -> T:
    """`work` on the storage `settings` open, as the app or the command line would open it."""
    storage = await open_storage(settings)
    try:
        return await work(storage)
    finally:
        await storage.close()


async def run_cli(settings: StorageSettings, *argv: str) -> tuple[int, str, str]:
    """The command line, run in a thread as from a shell: it starts its own event loop."""
    return await asyncio.to_thread(cli.run_cli, *argv, settings=settings)
