"""Where the data lives, read from the environment: Azure Table Storage when a connection string
or a table endpoint is set, else SQLite. Opening it is the bootstrap's (bootstrap/build.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.factory import AZURE_CLI, CREDENTIALS, MANAGED_IDENTITY, open_table_store
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
