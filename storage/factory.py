"""Choose the table-store engine from configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from storage.tables import TableStore

# How a table endpoint is reached without a key (STORAGE_CREDENTIAL).
MANAGED_IDENTITY: Final = "managed-identity"  # the App Service's identity (the app)
AZURE_CLI: Final = "azure-cli"  # whoever `az login` signed in (an administrator's machine)
CREDENTIALS: Final = (MANAGED_IDENTITY, AZURE_CLI)


def open_table_store(
    connection_string: str | None,
    data_dir: Path,
    *,
    table_endpoint: str | None = None,
    managed_identity_client_id: str | None = None,
    credential: str = MANAGED_IDENTITY,
) -> TableStore:
    """Azure Table Storage when a connection string or a table endpoint is set (the endpoint
    with a Microsoft Entra credential: the app's managed identity, or the Azure CLI's sign-in
    for an administrator's commands), else SQLite under ``data_dir``.

    Nothing is connected or created until the first operation; call ``ensure_tables`` and
    ``ping`` at start-up to fail early.
    """
    if connection_string and connection_string.strip():
        # Imported here so a laptop run without Azure configured never loads the Azure SDK.
        from storage.azure_engine import AzureTableStore

        return AzureTableStore(connection_string.strip())
    if table_endpoint and table_endpoint.strip():
        from azure.core.credentials_async import AsyncTokenCredential

        from storage.azure_engine import AzureTableStore

        token_credential: AsyncTokenCredential
        if credential == AZURE_CLI:
            from azure.identity.aio import AzureCliCredential

            token_credential = AzureCliCredential()
        elif credential == MANAGED_IDENTITY:
            from azure.identity.aio import ManagedIdentityCredential

            token_credential = ManagedIdentityCredential(
                client_id=managed_identity_client_id or None
            )
        else:
            raise ValueError(f"credential must be one of {', '.join(CREDENTIALS)}: {credential!r}")
        return AzureTableStore(endpoint=table_endpoint.strip(), credential=token_credential)
    from storage.sqlite_engine import SqliteTableStore

    return SqliteTableStore(data_dir)
