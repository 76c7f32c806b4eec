"""Where the data lives: Azure Table Storage when a connection string or a table endpoint is set,
else SQLite. Read from the environment by bootstrap/settings.py; opened by bootstrap/build.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.factory import AZURE_CLI, MANAGED_IDENTITY, open_table_store
from storage.tables import TableStore

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
        """Read from the environment, and checked, by the one reader (bootstrap/settings.py);
        a bad value raises a ValueError that names it."""
        from bootstrap.settings import storage_settings  # it builds this class

        return storage_settings(environ)

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
