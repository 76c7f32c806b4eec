"""Where the data lives: Azure Table Storage when a connection string is set, else SQLite."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.access_log import TableAccessLog
from storage.cases import TableCaseRepository, TableNames
from storage.conversations import ConversationStore
from storage.directory_store import DirectoryStore
from storage.factory import open_table_store
from storage.join_requests import JoinRequestStore
from storage.outbox import TableOutbox
from storage.tables import TableStore

CONNECTION_STRING_ENV = "STORAGE_CONNECTION_STRING"
DATA_DIR_ENV = "ESCALATION_DATA_DIR"
TABLE_PREFIX_ENV = "ESCALATION_TABLE_PREFIX"
TABLE_ENDPOINT_ENV = "STORAGE_TABLE_ENDPOINT"
CLIENT_ID_ENV = "AZURE_CLIENT_ID"


@dataclass(frozen=True)
class StorageSettings:
    connection_string: str | None
    data_dir: Path
    table_prefix: str = ""
    # Azure with the app's managed identity: no key in the settings.
    table_endpoint: str | None = None
    managed_identity_client_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        env = os.environ if environ is None else environ
        prefix = env.get(TABLE_PREFIX_ENV, "")
        if prefix and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,20}", prefix):
            raise ValueError(
                f"{TABLE_PREFIX_ENV} must be letters and digits, starting with a letter "
                f"(at most 21): {prefix!r}"
            )
        endpoint = (env.get(TABLE_ENDPOINT_ENV) or "").strip() or None
        if endpoint and not re.fullmatch(r"https://[^/\s]+/?", endpoint):
            raise ValueError(
                f"{TABLE_ENDPOINT_ENV} must be an https:// table endpoint: {endpoint!r}"
            )
        return cls(
            connection_string=(env.get(CONNECTION_STRING_ENV) or "").strip() or None,
            data_dir=Path(env.get(DATA_DIR_ENV) or "data"),
            table_prefix=prefix,
            table_endpoint=endpoint,
            managed_identity_client_id=(env.get(CLIENT_ID_ENV) or "").strip() or None,
        )

    @property
    def engine(self) -> str:
        return "azure" if self.connection_string or self.table_endpoint else "sqlite"

    def describe(self) -> str:
        """For logs: never the connection string, which holds a secret."""
        if not self.connection_string and self.table_endpoint:
            return f"Azure Table Storage at {self.table_endpoint} (managed identity)"
        if self.connection_string:
            account = re.search(r"AccountName=([^;]+)", self.connection_string)
            return f"Azure Table Storage (account {account.group(1) if account else '?'})"
        return f"embedded SQLite store in {self.data_dir.resolve()}"


@dataclass(frozen=True)
class Storage:
    """Everything the app keeps, opened on one table store."""

    store: TableStore
    tables: TableNames
    cases: TableCaseRepository
    outbox: TableOutbox
    directory: DirectoryStore
    conversations: ConversationStore
    access_log: TableAccessLog  # who has seen each case (escalation.access_log)

    @property
    def requests(self) -> JoinRequestStore:
        """Requests to join an agency and the notices about them: on the directory's table,
        with its clock (storage.join_requests). It holds no state of its own."""
        return JoinRequestStore(
            self.store, self.directory, now=self.directory.clock, table=self.tables.directory
        )

    async def close(self) -> None:
        await self.store.close()


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def open_storage(
    settings: StorageSettings, *, now: Callable[[], datetime] = _utc_now
) -> Storage:
    """Open the store and create any table that is missing."""
    store = open_table_store(
        settings.connection_string,
        settings.data_dir,
        table_endpoint=settings.table_endpoint,
        managed_identity_client_id=settings.managed_identity_client_id,
    )
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
