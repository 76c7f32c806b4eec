"""Fixtures for the integration tests: Azurite for the Azure engine, a fresh store per test.

Azurite comes from ``npm install`` (package.json at the repository root). Without it the Azure
cases fail when CI is set, so a CI run can never pass by quietly testing only SQLite, and are
skipped on a laptop.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.azure_engine import AzureTableStore
from storage.settings import StorageSettings
from storage.sqlite_engine import SqliteTableStore
from storage.tables import TableStore
from testkit.azurite import AZURITE_TABLE, running_azurite, unique_table_name
from tests.integration.harness import Harness, open_harness

ENGINES = ("sqlite", "azure")


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not AZURITE_TABLE.exists():
        message = (
            f"Azurite is not installed ({AZURITE_TABLE} is missing): run `npm install` "
            "in the repository root"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with running_azurite(tmp_path_factory.mktemp("azurite")) as connection:
        yield connection


@pytest.fixture(params=["sqlite", "azure"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageSettings]:
    """Storage settings on each engine, with tables of their own."""
    connection = (
        request.getfixturevalue("azurite_connection_string") if request.param == "azure" else None
    )
    yield StorageSettings(connection, tmp_path / "data", table_prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TableStore]:
    """A fresh store of each engine. Azurite is asked for only when an Azure case runs."""
    opened: TableStore
    if engine == "azure":
        opened = AzureTableStore(request.getfixturevalue("azurite_connection_string"))
    else:
        opened = SqliteTableStore(tmp_path / "data")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def table(store: TableStore) -> str:
    """A new, empty table in ``store``; unique, since Azurite lives for the whole session."""
    name = unique_table_name()
    await store.ensure_tables([name])
    return name


# -- the case repository on each engine (tests.integration.harness) ---------------------------


@pytest.fixture(params=["memory", "sqlite", "azure"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async for opened in open_harness(request.param, request, tmp_path):
        yield opened


@pytest.fixture(params=["sqlite", "azure"])
async def tables(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async for opened in open_harness(request.param, request, tmp_path):
        yield opened
