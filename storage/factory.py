"""Choose the table-store engine from configuration."""

from __future__ import annotations

from pathlib import Path

from storage.tables import TableStore


def open_table_store(
    connection_string: str | None,
    data_dir: Path,
    *,
    table_endpoint: str | None = None,
    managed_identity_client_id: str | None = None,
) -> TableStore:
    """Azure Table Storage when a connection string or a table endpoint is set (the endpoint
    with the app's managed identity), else SQLite under ``data_dir``.

    Nothing is connected or created until the first operation; call ``ensure_tables`` and
    ``ping`` at start-up to fail early.
    """
    if connection_string and connection_string.strip():
        # Imported here so a laptop run without Azure configured never loads the Azure SDK.
        from storage.azure_engine import AzureTableStore

        return AzureTableStore(connection_string.strip())
    if table_endpoint and table_endpoint.strip():
        from azure.identity.aio import ManagedIdentityCredential

        from storage.azure_engine import AzureTableStore

        credential = ManagedIdentityCredential(client_id=managed_identity_client_id or None)
        return AzureTableStore(endpoint=table_endpoint.strip(), credential=credential)
    from storage.sqlite_engine import SqliteTableStore

    return SqliteTableStore(data_dir)
