"""The production engine: Azure Table Storage through ``azure.data.tables.aio``.

The same code serves Azurite and a real account. Entities are converted on the way in and out
so that they round-trip exactly as the SQLite engine returns them:

* every int is written as Edm.Int64, so a counter keeps one type past 2**31; the SDK hands
  Int64 back wrapped in ``EntityProperty``, which is unwrapped here;
* the service returns a whole-number Edm.Double as a bare JSON integer (Azure/azure-sdk-for-js
  #19899). Since this engine never writes Int32, a bare integer read back is a double;
* datetimes come back as the SDK's ``TablesEntityDatetime`` and leave as plain UTC datetimes;
* the SDK's metadata (etag, Timestamp) is stripped from the entity; the etag goes alongside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import EdmType, EntityProperty, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from storage.tables import (
    MAX_QUERY_PAGE,
    PARTITION_KEY,
    ROW_KEY,
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
    OpKind,
    StorageError,
    StorageUnavailable,
    StoredEntity,
    TableNotFound,
    ValidatingTableStore,
)

_UNAVAILABLE_CODES: Final = frozenset({"ServerBusy", "OperationTimedOut", "InternalError"})


def _error_code(error: HttpResponseError) -> str | None:
    code = getattr(error, "error_code", None)
    if code is not None:
        return str(getattr(code, "value", code))
    # create_entity raises the undecoded error; the service also sends the code as a header.
    headers = getattr(error.response, "headers", None) or {}
    code = headers.get("x-ms-error-code")
    return None if code is None else str(code)


def _translate(error: AzureError, table: str) -> StorageError:
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return StorageUnavailable(f"Azure Table Storage is unreachable: {error.message}")
    if not isinstance(error, HttpResponseError):
        return StorageError(f"Azure Table Storage: {error.message}")
    code, status = _error_code(error), error.status_code
    detail = f"table {table!r}: {code or status}"
    if code == "TableNotFound":
        return TableNotFound(f"{detail}: call ensure_tables first")
    if code == "EntityAlreadyExists" or (isinstance(error, ResourceExistsError) and code is None):
        return EntityExists(detail)
    if status == 412 or code in ("UpdateConditionNotSatisfied", "ConditionNotMet"):
        return ConcurrencyConflict(detail)
    if code == "ResourceNotFound" or (status == 404 and code is None):
        return EntityNotFound(detail)
    if code in _UNAVAILABLE_CODES or (status is not None and status >= 500):
        return StorageUnavailable(detail)
    return StorageError(f"{detail}: {error.message}")


@asynccontextmanager
async def _azure_errors(table: str) -> AsyncIterator[None]:
    try:
        yield
    except AzureError as error:
        raise _translate(error, table) from error


def _to_azure(entity: Entity) -> dict[str, Any]:
    return {
        name: (
            EntityProperty(value, EdmType.INT64)
            if isinstance(value, int) and not isinstance(value, bool)
            else value
        )
        for name, value in entity.items()
    }


def _from_azure_value(value: object) -> object:
    if isinstance(value, EntityProperty):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return datetime(
            utc.year,
            utc.month,
            utc.day,
            utc.hour,
            utc.minute,
            utc.second,
            utc.microsecond,
            tzinfo=UTC,
        )
    return value


def _from_azure(entity: Mapping[str, Any]) -> StoredEntity:
    result: Entity = {PARTITION_KEY: entity[PARTITION_KEY], ROW_KEY: entity[ROW_KEY]}
    for name, value in entity.items():
        if name not in (PARTITION_KEY, ROW_KEY):
            result[name] = _from_azure_value(value)
    return StoredEntity(result, str(entity.metadata["etag"]))  # type: ignore[attr-defined]


def _conditions(etag: str | None) -> dict[str, Any]:
    if etag is None:
        return {}
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


class AzureTableStore(ValidatingTableStore):
    """A ``TableStore`` on an Azure storage account (or Azurite) given by a connection string.

    ``client_options`` go to the SDK client (e.g. ``retry_total``, ``connection_timeout``).
    No connection is made until the first operation.
    """

    def __init__(
        self,
        connection_string: str | None = None,
        *,
        endpoint: str | None = None,
        credential: Any = None,
        **client_options: Any,
    ) -> None:
        # A connection string (Azurite, or an account key), or the account's table endpoint with
        # a token credential (a managed identity: no key in the app's settings).
        if connection_string:
            self._service = TableServiceClient.from_connection_string(
                connection_string, **client_options
            )
        elif endpoint and credential is not None:
            self._service = TableServiceClient(
                endpoint=endpoint, credential=credential, **client_options
            )
        else:
            raise ValueError("give a connection string, or an endpoint and a credential")
        self._credential = credential
        self._tables: dict[str, TableClient] = {}

    def _table(self, name: str) -> TableClient:
        key = name.lower()
        client = self._tables.get(key)
        if client is None:
            client = self._tables[key] = self._service.get_table_client(name)
        return client

    async def _do_get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        try:
            async with _azure_errors(table):
                found = await self._table(table).get_entity(pk, rk)
        except EntityNotFound:
            return None
        return _from_azure(found)

    async def _do_query(
        self,
        table: str,
        partition: str | None,
        lower: str | None,
        upper: str | None,
        limit: int | None,
    ) -> list[StoredEntity]:
        column = PARTITION_KEY if partition is None else ROW_KEY
        clauses: list[str] = []
        parameters: dict[str, Any] = {}
        if partition is not None:
            clauses.append("PartitionKey eq @partition")
            parameters["partition"] = partition
        if lower is not None:
            clauses.append(f"{column} ge @lower")
            parameters["lower"] = lower
        if upper is not None:
            clauses.append(f"{column} lt @upper")
            parameters["upper"] = upper
        page = MAX_QUERY_PAGE if limit is None else min(limit, MAX_QUERY_PAGE)
        client = self._table(table)
        found: list[StoredEntity] = []
        async with _azure_errors(table):
            if clauses:
                pager = client.query_entities(
                    " and ".join(clauses), parameters=parameters, results_per_page=page
                )
            else:
                pager = client.list_entities(results_per_page=page)
            # The pager follows continuation tokens; Azure may return short or empty pages.
            async for entity in pager:
                found.append(_from_azure(entity))
                if limit is not None and len(found) >= limit:
                    break
        return found

    async def _do_write(self, table: str, op: Op) -> str:
        client = self._table(table)
        async with _azure_errors(table):
            if op.kind is OpKind.DELETE:
                # The SDK ignores a 404 here, so a missing entity or table is a no-op.
                await client.delete_entity(
                    op.entity[PARTITION_KEY], op.entity[ROW_KEY], **_conditions(op.etag)
                )
                return ""
            body = _to_azure(op.entity)
            if op.kind is OpKind.INSERT:
                result = await client.create_entity(body)
            elif op.kind is OpKind.UPSERT:
                result = await client.upsert_entity(body, mode=UpdateMode.REPLACE)
            else:
                result = await client.update_entity(
                    body, mode=UpdateMode.REPLACE, **_conditions(op.etag)
                )
        return str(result["etag"])

    async def _do_transact(self, table: str, ops: list[Op]) -> list[str]:
        operations: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for op in ops:
            body = _to_azure(op.entity)
            if op.kind is OpKind.INSERT:
                operations.append(("create", body, {}))
            elif op.kind is OpKind.UPSERT:
                operations.append(("upsert", body, {"mode": UpdateMode.REPLACE}))
            elif op.kind is OpKind.UPDATE:
                options = {"mode": UpdateMode.REPLACE, **_conditions(op.etag)}
                operations.append(("update", body, options))
            else:
                operations.append(("delete", body, _conditions(op.etag)))
        async with _azure_errors(table):
            results = await self._table(table).submit_transaction(operations)
        return [str(result.get("etag") or "") for result in results]

    async def _do_ensure_tables(self, names: list[str]) -> None:
        for name in names:
            async with _azure_errors(name):
                await self._service.create_table_if_not_exists(name)

    async def ping(self) -> None:
        # No retries: a readiness probe wants a quick answer, and the next probe is the retry.
        async with _azure_errors("(ping)"):
            pages = self._service.list_tables(results_per_page=1, retry_total=0).by_page()
            async for page in pages:
                async for _ in page:
                    break
                break

    async def close(self) -> None:
        for client in self._tables.values():
            await client.close()
        self._tables.clear()
        await self._service.close()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()
