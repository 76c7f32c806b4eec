"""Where the data lives: Azure Table Storage when a connection string is set, else SQLite."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from storage.access_log import TableAccessLog
from storage.cases import TableCaseRepository, TableNames
from storage.conversations import ConversationStore
from storage.directory_store import DirectoryStore
from storage.factory import AZURE_CLI, CREDENTIALS, MANAGED_IDENTITY, open_table_store
from storage.join_requests import JoinRequestStore
from storage.outbox import TableOutbox
from storage.tables import StorageError, TableStore

CONNECTION_STRING_ENV = "STORAGE_CONNECTION_STRING"
DATA_DIR_ENV = "ESCALATION_DATA_DIR"
TABLE_PREFIX_ENV = "ESCALATION_TABLE_PREFIX"
TABLE_ENDPOINT_ENV = "STORAGE_TABLE_ENDPOINT"
CLIENT_ID_ENV = "AZURE_CLIENT_ID"
CREDENTIAL_ENV = "STORAGE_CREDENTIAL"
START_WAIT_ENV = "STORAGE_START_WAIT_SECONDS"
# A role assignment made by the same deployment takes minutes to reach the storage account:
# start-up waits this long for Azure storage to answer (App Service gives start-up 600 s,
# WEBSITES_CONTAINER_START_TIME_LIMIT in deployment/infra/main.bicep).
DEFAULT_START_WAIT_SECONDS = 300.0

log = logging.getLogger("escalation.storage")
T = TypeVar("T")


@dataclass(frozen=True)
class StorageSettings:
    connection_string: str | None
    data_dir: Path
    table_prefix: str = ""
    # Azure with a Microsoft Entra credential: no key in the settings.
    table_endpoint: str | None = None
    managed_identity_client_id: str | None = None
    # managed-identity (the app on App Service) or azure-cli (an administrator's `az login`).
    credential: str = MANAGED_IDENTITY
    start_wait_seconds: float = DEFAULT_START_WAIT_SECONDS

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
        credential = (env.get(CREDENTIAL_ENV) or "").strip().lower() or MANAGED_IDENTITY
        if credential not in CREDENTIALS:
            raise ValueError(
                f"{CREDENTIAL_ENV} must be {MANAGED_IDENTITY} (the app's identity) or "
                f"{AZURE_CLI} (the administrator signed in with `az login`), not {credential!r}"
            )
        wait_text = (env.get(START_WAIT_ENV) or "").strip()
        try:
            wait = float(wait_text) if wait_text else DEFAULT_START_WAIT_SECONDS
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= 1800:
            raise ValueError(
                f"{START_WAIT_ENV} must be a number of seconds from 0 to 1800, not {wait_text!r}"
            )
        return cls(
            connection_string=(env.get(CONNECTION_STRING_ENV) or "").strip() or None,
            data_dir=Path(env.get(DATA_DIR_ENV) or "data"),
            table_prefix=prefix,
            table_endpoint=endpoint,
            managed_identity_client_id=(env.get(CLIENT_ID_ENV) or "").strip() or None,
            credential=credential,
            start_wait_seconds=wait,
        )

    @property
    def engine(self) -> str:
        return "azure" if self.connection_string or self.table_endpoint else "sqlite"

    def describe(self) -> str:
        """For logs: never the connection string, which holds a secret."""
        if not self.connection_string and self.table_endpoint:
            how = "Azure CLI sign-in" if self.credential == AZURE_CLI else "managed identity"
            return f"Azure Table Storage at {self.table_endpoint} ({how})"
        if self.connection_string:
            account = re.search(r"AccountName=([^;]+)", self.connection_string)
            return f"Azure Table Storage (account {account.group(1) if account else '?'})"
        return f"embedded SQLite store in {self.data_dir.resolve()}"

    def open_store(self) -> TableStore:
        """The table store these settings name; nothing is connected until it is used."""
        return open_table_store(
            self.connection_string,
            self.data_dir,
            table_endpoint=self.table_endpoint,
            managed_identity_client_id=self.managed_identity_client_id,
            credential=self.credential,
        )


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
    settings: StorageSettings,
    *,
    now: Callable[[], datetime] = _utc_now,
    wrap: Callable[[TableStore], TableStore] | None = None,
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
