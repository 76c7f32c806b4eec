"""One table-store interface for two engines: Azure Table Storage and embedded SQLite.

The rules Azure enforces (key characters, property and entity sizes, batch shape) are checked here,
before any engine sees a request, so that both engines refuse exactly the same things with the
same ``ValueError`` and a laptop run cannot succeed where production would fail.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeVar

Entity = dict[str, Any]
"""``PartitionKey`` and ``RowKey`` (str) plus properties of type str, int (64-bit), float, bool,
datetime (timezone-aware; returned in UTC) or bytes. ``None`` is not a value: leave the property
out instead."""

PARTITION_KEY: Final = "PartitionKey"
ROW_KEY: Final = "RowKey"

# Azure's documented limits. Sizes of strings are in UTF-16 code units, as the service counts them.
MAX_KEY_UTF16: Final = 512  # "up to 1 KiB"; Azurite enforces exactly 512 code units
MAX_STRING_UTF16: Final = 32 * 1024
MAX_BINARY_BYTES: Final = 64 * 1024
MAX_PROPERTIES: Final = 252  # 255 less PartitionKey, RowKey and Timestamp
MAX_ENTITY_BYTES: Final = 1024 * 1024
MAX_BATCH_OPERATIONS: Final = 100
MAX_BATCH_BYTES: Final = 4 * 1024 * 1024
MAX_PROPERTY_NAME: Final = 255
MIN_DATETIME: Final = datetime(1601, 1, 1, tzinfo=UTC)  # Edm.DateTime starts here
MAX_QUERY_PAGE: Final = 1000  # the most entities Azure returns in one response
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_FORBIDDEN_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
_PROPERTY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_PROPERTIES = frozenset({PARTITION_KEY, ROW_KEY, "Timestamp"})
_GOOD_NAMES: set[str] = set()  # property names already found valid
# Multipart headers and the request line that wrap each operation of a batch; generous on purpose.
_BATCH_OVERHEAD_PER_OP = 1024


class StorageError(Exception):
    """A table-store operation failed."""


class ConcurrencyConflict(StorageError):
    """The entity changed since the ETag given was read."""


class EntityExists(StorageError):
    """An insert found the entity already there."""


class EntityNotFound(StorageError):
    """An update (or a delete inside a transaction) found no entity."""


class TableNotFound(StorageError):
    """The table was never created: call ``ensure_tables`` at start-up."""


class StorageUnavailable(StorageError):
    """The storage could not be reached or is busy; the operation may be retried."""


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """An entity as read, with the ETag that a later conditional write must quote."""

    entity: Entity
    etag: str


class OpKind(enum.StrEnum):
    INSERT = "insert"
    UPSERT = "upsert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a transaction. Build it with the class methods."""

    kind: OpKind
    entity: Entity
    etag: str | None = None

    @classmethod
    def insert(cls, entity: Entity) -> Op:
        return cls(OpKind.INSERT, entity)

    @classmethod
    def upsert(cls, entity: Entity) -> Op:
        return cls(OpKind.UPSERT, entity)

    @classmethod
    def update(cls, entity: Entity, etag: str) -> Op:
        return cls(OpKind.UPDATE, entity, etag)

    @classmethod
    def delete(cls, pk: str, rk: str, etag: str | None = None) -> Op:
        return cls(OpKind.DELETE, {PARTITION_KEY: pk, ROW_KEY: rk}, etag)

    @property
    def pk(self) -> str:
        return str(self.entity.get(PARTITION_KEY))

    @property
    def rk(self) -> str:
        return str(self.entity.get(ROW_KEY))


@dataclass(frozen=True)
class Request:
    """Writes to one partition of a table, sent as one request: an upsert alone as an upsert,
    anything else as a transaction (up to 100 operations)."""

    table: str
    ops: Sequence[Op]


class TableStore(Protocol):
    """What the application needs from a table store; both engines provide exactly this.

    Keys sort by UTF-16 code unit, as in Azure. An ETag of ``"*"`` matches any version.
    """

    async def get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        """The entity, or None when it does not exist."""
        ...

    async def query_partition(
        self,
        table: str,
        pk: str,
        *,
        rk_from: str | None = None,
        rk_to: str | None = None,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        """Entities of one partition with ``rk_from <= RowKey < rk_to``, ordered by RowKey."""
        ...

    async def query_range(
        self,
        table: str,
        pk_from: str | None,
        pk_to: str | None,
        *,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        """Entities with ``pk_from <= PartitionKey < pk_to``, ordered by PartitionKey, RowKey."""
        ...

    async def upsert(self, table: str, entity: Entity) -> str:
        """Insert or replace the whole entity; returns the new ETag."""
        ...

    async def insert(self, table: str, entity: Entity) -> str:
        """Insert; raises ``EntityExists`` when it is already there."""
        ...

    async def update(self, table: str, entity: Entity, etag: str) -> str:
        """Replace if unchanged since ``etag``: ``ConcurrencyConflict`` or ``EntityNotFound``."""
        ...

    async def delete(self, table: str, pk: str, rk: str, etag: str | None = None) -> None:
        """Delete; a missing entity (or table) is not an error, a stale ``etag`` is."""
        ...

    async def transact(self, table: str, ops: Sequence[Op]) -> list[str]:
        """All or nothing: up to 100 ops in one partition. Returns one ETag per op ("" for a
        delete). A delete of a missing entity fails the batch here, as it does in Azure."""
        ...

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        """The transaction ``ops``, stored only once every request of ``first`` is: the hints
        a change writes before its transaction (storage/KEYS.md). ``first``'s requests go at
        once, then ``ops`` (two round trips' wait), or, where the engine can, all of it in one
        commit. A failure of ``first`` stops ``ops``; whether ``first`` stays when ``ops``
        fails is the engine's to say (they are hints either way)."""
        ...

    async def ensure_tables(self, names: Iterable[str]) -> None:
        """Create the tables that do not exist yet (table names are case-insensitive)."""
        ...

    async def ping(self) -> None:
        """Return when the storage answers; raise ``StorageError`` otherwise."""
        ...

    async def close(self) -> None: ...


_Item = TypeVar("_Item")


def batches(items: Sequence[_Item]) -> Iterator[Sequence[_Item]]:
    """`items` in runs of at most MAX_BATCH_OPERATIONS: one transaction's worth each."""
    for start in range(0, len(items), MAX_BATCH_OPERATIONS):
        yield items[start : start + MAX_BATCH_OPERATIONS]


async def together(writes: Sequence[Awaitable[object]]) -> None:
    """Wait for the writes at once; one alone is awaited as it is, as a task for it would
    cost more than the write on the embedded engine."""
    if len(writes) == 1:
        await writes[0]
    elif writes:
        await asyncio.gather(*writes)


def sent_as_upsert(request: Request) -> bool:
    """Whether `send_requests` sends `request` as an upsert (one alone), not a transaction."""
    return len(request.ops) == 1 and request.ops[0].kind is OpKind.UPSERT


async def send_requests(store: TableStore, requests: Sequence[Request]) -> None:
    """Each request, all at once, through `store`'s own calls."""
    await together(
        [
            store.upsert(r.table, r.ops[0].entity)
            if sent_as_upsert(r)
            else store.transact(r.table, r.ops)
            for r in requests
            if r.ops
        ]
    )


# --- validation shared by both engines ---------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Azure counts it; ValueError for a lone surrogate, which no engine can store."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError as exc:
        raise ValueError(f"string contains an unpaired surrogate at index {exc.start}") from None


def validate_table_name(name: str) -> str:
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name) or name.lower() == "tables":
        raise ValueError(
            f"invalid table name {name!r}: 3-63 letters and digits, starting with a letter"
        )
    return name


def validate_key(name: str, value: object) -> str:
    """Check a PartitionKey or RowKey against Azure's rules."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, not {type(value).__name__}")
    if (match := _FORBIDDEN_KEY_CHARS.search(value)) is not None:
        raise ValueError(
            f"{name} {value[:40]!r} contains {match.group()!r} at index {match.start()}: "
            "keys may not contain / \\ # ? or control characters"
        )
    if (length := utf16_len(value)) > MAX_KEY_UTF16:
        raise ValueError(f"{name} is {length} UTF-16 code units long; the limit is {MAX_KEY_UTF16}")
    return value


def validate_bound(name: str, value: object) -> str:
    """Check a key range bound. Unlike a key it may hold / \\ # ? (so that the prefix "a." can
    end at "a/") and be longer, but no control characters, which have no place in a query."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, not {type(value).__name__}")
    if (match := _CONTROL_CHARS.search(value)) is not None:
        raise ValueError(f"{name} {value[:40]!r} contains control character {match.group()!r}")
    if (length := utf16_len(value)) > 2 * MAX_KEY_UTF16:
        raise ValueError(f"{name} is {length} UTF-16 code units long; the limit is 1024")
    return value


def _validate_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, not {limit!r}")


def _property_size(name: str, value: object) -> int:
    """Validate one property; return its size by Azure's entity-size formula."""
    if name in _GOOD_NAMES:
        pass
    elif not isinstance(name, str) or len(name) > MAX_PROPERTY_NAME:
        raise ValueError(f"property name {name!r} must be a str of at most 255 characters")
    elif not _PROPERTY_NAME.fullmatch(name) or name in _RESERVED_PROPERTIES:
        raise ValueError(
            f"property name {name!r} is not allowed: use letters, digits and _, not starting "
            "with a digit, and not PartitionKey, RowKey or Timestamp"
        )
    elif len(_GOOD_NAMES) < 4096:  # names are few: remember the ones found good
        _GOOD_NAMES.add(name)
    size = 8 + 2 * len(name)
    if isinstance(value, bool):
        return size + 1
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"property {name!r}: {value} does not fit in 64 bits")
        return size + 8
    if isinstance(value, float):
        return size + 8
    if isinstance(value, str):
        length = utf16_len(value)
        if length > MAX_STRING_UTF16:
            raise ValueError(
                f"property {name!r} is {length} UTF-16 code units long; the limit is "
                f"{MAX_STRING_UTF16}: spread it with split_text()"
            )
        return size + 2 * length + 4
    if isinstance(value, bytes):
        if len(value) > MAX_BINARY_BYTES:
            raise ValueError(f"property {name!r} is {len(value)} bytes; the limit is 64 KiB")
        return size + len(value) + 4
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"property {name!r}: datetimes must be timezone-aware (use UTC)")
        if value < MIN_DATETIME:
            raise ValueError(f"property {name!r}: datetimes before 1601-01-01 are not supported")
        return size + 8
    if value is None:
        raise ValueError(f"property {name!r} is None: leave the property out instead")
    raise ValueError(
        f"property {name!r} has unsupported type {type(value).__name__}: "
        "use str, int, float, bool, datetime or bytes"
    )


def _wire_value(value: object) -> object:
    """The value roughly as the Azure SDK puts it in the request body (Azurite measures that)."""
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _wire_size(entity: Mapping[str, object]) -> int:
    body: dict[str, object] = {}
    for name, value in entity.items():
        body[name] = _wire_value(value)
        if not isinstance(value, bool) and name not in (PARTITION_KEY, ROW_KEY):
            body[f"{name}@odata.type"] = "Edm.DateTime"  # the longest annotation
    return len(json.dumps(body, allow_nan=True).encode("utf-8"))


def _wire_bound_value(value: object) -> int:
    """A cheap upper bound of the length of a value's JSON in `_wire_size`: a character escaped
    as \\uXXXX twice over, base64; the name and its annotation are counted apart (48 more than
    twice the name's length)."""
    if isinstance(value, str):
        return 12 * len(value) + 2
    if isinstance(value, bytes):
        return 4 * (len(value) // 3 + 1) + 2
    return 40


# The keys' share of the bound: their names and annotations (their values are added apart).
_KEYS_WIRE: Final = 2 * (len(PARTITION_KEY) + len(ROW_KEY)) + 2 * (48 + 2)
# Text this long or shorter cannot pass the string limit, counted in UTF-16 units or not.
_SHORT_TEXT: Final = MAX_STRING_UTF16 // 2


def checked_entity(entity: Mapping[str, Any]) -> tuple[Entity, int]:
    """Check an entity against Azure's limits. Returns a copy with datetimes in UTC (as both
    engines store and return them) and the estimated size of its JSON on the wire (an upper
    bound of it, when that bound is well inside the limit: see `validate_batch`)."""
    if not isinstance(entity, Mapping):
        raise ValueError(f"an entity must be a mapping, not {type(entity).__name__}")
    pk = validate_key(PARTITION_KEY, entity.get(PARTITION_KEY))
    rk = validate_key(ROW_KEY, entity.get(ROW_KEY))
    if len(entity) - 2 > MAX_PROPERTIES:
        raise ValueError(f"entity has {len(entity) - 2} properties; the limit is {MAX_PROPERTIES}")
    size = 4 + 2 * (utf16_len(pk) + utf16_len(rk))
    # Azure counts by the formula of _property_size; Azurite measures the UTF-8 JSON body,
    # which is larger for base64 and escaped non-ASCII text. Both must pass so no engine refuses
    # what another took. `wire` bounds that body's size from above (_wire_bound_value), summed
    # in the same pass.
    wire = 2 + _KEYS_WIRE + 12 * (len(pk) + len(rk))
    normalized: Entity = {PARTITION_KEY: pk, ROW_KEY: rk}
    for name, value in entity.items():
        kind = type(value)
        # Most properties are plain text or numbers under a name already found good: their
        # size by the formula, without the checks every other kind needs.
        if kind is str and name in _GOOD_NAMES and len(value) <= _SHORT_TEXT:
            length = len(value) if value.isascii() else utf16_len(value)
            size += 12 + 2 * (len(name) + length)
            wire += 50 + 2 * len(name) + 12 * len(value)
        elif (kind is int and INT64_MIN <= value <= INT64_MAX) or kind is bool:
            if name not in _GOOD_NAMES:
                size += _property_size(name, value)
            else:
                size += 8 + 2 * len(name) + (1 if kind is bool else 8)
            wire += 88 + 2 * len(name)
        elif name in (PARTITION_KEY, ROW_KEY):
            continue  # checked above, as keys
        else:
            size += _property_size(name, value)
            wire += 2 * len(name) + 48 + _wire_bound_value(value)
            if isinstance(value, datetime):
                value = _as_utc(value)
        normalized[name] = value
    if wire > MAX_ENTITY_BYTES:
        wire = _wire_size(entity)  # exact, only for an entity that might be too large
    if max(size, wire) > MAX_ENTITY_BYTES:
        raise ValueError(
            f"entity ({pk!r}, {rk!r}) is about {max(size, wire)} bytes; the limit is 1 MiB"
        )
    return normalized, wire


def _as_utc(value: datetime) -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # already as stored (and immutable)
    value = value.astimezone(UTC)
    # A plain datetime, not a subclass (the Azure SDK hands back its own).
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )


def validate_batch(ops: Sequence[Op]) -> list[Op]:
    """Check a transaction's shape before anything is sent; return ops with normalized entities."""
    ops = list(ops)
    if len(ops) > MAX_BATCH_OPERATIONS:
        raise ValueError(
            f"a transaction holds at most {MAX_BATCH_OPERATIONS} operations, not {len(ops)}"
        )
    checked: list[Op] = []
    seen_rows: set[str] = set()
    partition: str | None = None
    total = 0
    for index, op in enumerate(ops):
        if not isinstance(op, Op):
            raise ValueError(f"operation {index} is a {type(op).__name__}, not an Op")
        if op.kind is OpKind.DELETE:
            pk = validate_key(PARTITION_KEY, op.entity.get(PARTITION_KEY))
            rk = validate_key(ROW_KEY, op.entity.get(ROW_KEY))
            entity: Entity = {PARTITION_KEY: pk, ROW_KEY: rk}
            total += 256
        else:
            entity, wire = checked_entity(op.entity)
            pk, rk = entity[PARTITION_KEY], entity[ROW_KEY]
            total += wire
        if op.kind is OpKind.UPDATE and not op.etag:
            raise ValueError(f"operation {index}: an update needs an etag")
        if partition is None:
            partition = pk
        elif pk != partition:
            raise ValueError(
                f"a transaction must stay in one partition: operation {index} is in {pk!r}, "
                f"not {partition!r}"
            )
        if rk in seen_rows:
            raise ValueError(f"operation {index}: row {rk!r} appears twice in one transaction")
        seen_rows.add(rk)
        total += _BATCH_OVERHEAD_PER_OP
        checked.append(Op(op.kind, entity, op.etag))
    if total > MAX_BATCH_BYTES:  # sizes may be upper bounds: measure them before refusing
        total = sum(
            256 + _BATCH_OVERHEAD_PER_OP
            if op.kind is OpKind.DELETE
            else _wire_size(op.entity) + _BATCH_OVERHEAD_PER_OP
            for op in checked
        )
    if total > MAX_BATCH_BYTES:
        raise ValueError(f"the transaction is about {total} bytes; the limit is 4 MiB")
    return checked


# --- long strings ------------------------------------------------------------------------------


def split_text(name: str, text: str, *, chunk_utf16: int = MAX_STRING_UTF16) -> dict[str, Any]:
    """Spread ``text`` over properties ``name_0, name_1, ...`` plus ``name_count``.

    Chunks are cut on code-point boundaries, never inside a surrogate pair. An entity holds about
    500,000 ASCII characters this way before it reaches 1 MiB.
    """
    if not _PROPERTY_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid property name prefix")
    if not 2 <= chunk_utf16 <= MAX_STRING_UTF16:
        raise ValueError(f"chunk_utf16 must be between 2 and {MAX_STRING_UTF16}")
    chunks: list[str] = []
    if utf16_len(text) == len(text):  # no astral characters: slicing by index is exact
        chunks = [text[i : i + chunk_utf16] for i in range(0, len(text), chunk_utf16)]
    else:
        start = units = 0
        for index, char in enumerate(text):
            width = 2 if ord(char) > 0xFFFF else 1
            if units + width > chunk_utf16:
                chunks.append(text[start:index])
                start, units = index, 0
            units += width
        chunks.append(text[start:])
    properties: dict[str, Any] = {f"{name}_count": len(chunks)}
    properties.update({f"{name}_{i}": chunk for i, chunk in enumerate(chunks)})
    return properties


def join_text(name: str, entity: Mapping[str, Any]) -> str:
    """The string that ``split_text(name, ...)`` spread over ``entity``."""
    count = entity.get(f"{name}_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"entity has no valid {name}_count property")
    try:
        parts = [entity[f"{name}_{i}"] for i in range(count)]
    except KeyError as exc:
        raise ValueError(f"entity is missing property {exc.args[0]!r}") from None
    if not all(isinstance(part, str) for part in parts):
        raise ValueError(f"the {name}_N properties must all be strings")
    return "".join(parts)


# --- the template both engines fill in ---------------------------------------------------------


class ValidatingTableStore(ABC):
    """Implements ``TableStore`` by validating every request, then calling the engine's ``_do_*``.

    Engines receive checked entities (datetimes in UTC), valid table names (which they must treat
    case-insensitively, as Azure does) and batches already checked for size and shape.
    """

    async def get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        validate_table_name(table)
        return await self._do_get(table, validate_key(PARTITION_KEY, pk), validate_key(ROW_KEY, rk))

    async def query_partition(
        self,
        table: str,
        pk: str,
        *,
        rk_from: str | None = None,
        rk_to: str | None = None,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        validate_table_name(table)
        validate_key(PARTITION_KEY, pk)
        for bound in (rk_from, rk_to):
            if bound is not None:
                validate_bound("RowKey bound", bound)
        _validate_limit(limit)
        return await self._do_query(table, pk, rk_from, rk_to, limit)

    async def query_range(
        self,
        table: str,
        pk_from: str | None,
        pk_to: str | None,
        *,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        validate_table_name(table)
        for bound in (pk_from, pk_to):
            if bound is not None:
                validate_bound("PartitionKey bound", bound)
        _validate_limit(limit)
        return await self._do_query(table, None, pk_from, pk_to, limit)

    async def upsert(self, table: str, entity: Entity) -> str:
        validate_table_name(table)
        return await self._do_write(table, Op(OpKind.UPSERT, checked_entity(entity)[0]))

    async def insert(self, table: str, entity: Entity) -> str:
        validate_table_name(table)
        return await self._do_write(table, Op(OpKind.INSERT, checked_entity(entity)[0]))

    async def update(self, table: str, entity: Entity, etag: str) -> str:
        validate_table_name(table)
        if not isinstance(etag, str) or not etag:
            raise ValueError("update needs the etag the entity was read with")
        return await self._do_write(table, Op(OpKind.UPDATE, checked_entity(entity)[0], etag))

    async def delete(self, table: str, pk: str, rk: str, etag: str | None = None) -> None:
        validate_table_name(table)
        if etag is not None and (not isinstance(etag, str) or not etag):
            raise ValueError("etag must be a non-empty str or None")
        op = Op.delete(validate_key(PARTITION_KEY, pk), validate_key(ROW_KEY, rk), etag)
        await self._do_write(table, op)

    async def transact(self, table: str, ops: Sequence[Op]) -> list[str]:
        validate_table_name(table)
        checked = validate_batch(ops)
        if not checked:
            return []
        return await self._do_transact(table, checked)

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        # The transaction is checked before `first` is sent: a malformed one changes nothing.
        validate_table_name(table)
        checked = validate_batch(ops)
        await send_requests(self, first)
        return await self._do_transact(table, checked) if checked else []

    async def ensure_tables(self, names: Iterable[str]) -> None:
        checked = [validate_table_name(name) for name in names]
        await self._do_ensure_tables(checked)

    @abstractmethod
    async def _do_get(self, table: str, pk: str, rk: str) -> StoredEntity | None: ...

    @abstractmethod
    async def _do_query(
        self,
        table: str,
        partition: str | None,
        lower: str | None,
        upper: str | None,
        limit: int | None,
    ) -> list[StoredEntity]:
        """With ``partition``, ``lower <= RowKey < upper`` in it; else the bounds are on
        PartitionKey. Ordered by PartitionKey, then RowKey."""

    @abstractmethod
    async def _do_write(self, table: str, op: Op) -> str:
        """One operation outside a transaction; a delete returns ""."""

    @abstractmethod
    async def _do_transact(self, table: str, ops: list[Op]) -> list[str]: ...

    @abstractmethod
    async def _do_ensure_tables(self, names: list[str]) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...
