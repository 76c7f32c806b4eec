"""The embedded engine: every table in one SQLite file, for a laptop with no Azure account.

Behaves like Azure Table Storage as the contract tests pin it down: keys sort by UTF-16 code
unit, table names are case-insensitive, ETags change on every write, and a batch is all or
nothing. Several processes may share the file: writes run in ``BEGIN IMMEDIATE`` transactions,
so a conditional update checks and writes under the database's write lock.

Group commit: the writes that arrive while the database thread is busy are made together, in one
transaction, each inside a savepoint of its own (so one that fails, a stale ETag say, is undone
alone and fails alone), and one commit (one fsync) makes them all durable; none is answered
before that commit. Under load, many turns' writes share a disk flush instead of queueing for
one each. A change's hints and its transaction (``transact_after``) are one write: one commit's
wait, not two.

Point reads (``get``) and small queries do not go to the database thread: they run on the
calling (event-loop) thread, on a second connection of their own, as the hop to the thread and
back cost several times the read itself (a case's history: about 200 µs against 20). The event
loop then waits on the file, but only for a lookup by primary key in WAL mode, where no writer
(in this process or another) blocks a reader and the few pages read are in SQLite's or the
operating system's page cache. A query that finds more than ``ON_LOOP_ROWS`` rows is read again
on the database thread, whole. Should that connection ever be busy or fail, the read goes to the
database thread after all. Writes and their fsyncs stay on the database thread. A write is
answered only after its commit, so a read started after that answer sees it, whichever
connection or process it comes from.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson

from escalation.json_text import read_json
from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
    OpKind,
    Request,
    StorageError,
    StorageUnavailable,
    StoredEntity,
    TableNotFound,
    ValidatingTableStore,
    validate_batch,
    validate_table_name,
)

T = TypeVar("T")

DEFAULT_FILE_NAME: Final = "tables.sqlite3"

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS store_tables (name TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # Files made before ETags were random kept a counter here, as ('etag', n); it is unused now.
    "INSERT OR IGNORE INTO store_meta (name, value) VALUES ('schema', 1)",
    """CREATE TABLE IF NOT EXISTS entities (
        tbl TEXT NOT NULL,
        pk BLOB NOT NULL,
        rk BLOB NOT NULL,
        etag TEXT NOT NULL,
        props TEXT NOT NULL,
        PRIMARY KEY (tbl, pk, rk)
    )""",
)


def _key(text: str) -> bytes:
    # Compared with memcmp, UTF-16-BE sorts exactly as Azure does (by UTF-16 code unit);
    # SQLite's own TEXT order (by code point) differs for characters beyond U+FFFF.
    return text.encode("utf-16-be")


def _unkey(blob: bytes) -> str:
    return blob.decode("utf-16-be")


def _encode_value(value: object) -> tuple[str, object]:
    # Tagged so that every type comes back exactly as written (JSON alone loses int/float,
    # datetimes and bytes); floats go as repr so NaN and infinities stay valid JSON.
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("f", repr(value))
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, datetime):
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return ("d", value.isoformat())
    if isinstance(value, bytes):
        return ("x", base64.b64encode(value).decode("ascii"))
    raise TypeError(f"unsupported property type {type(value).__name__}")  # validated earlier


# The tags of the commonest types, looked up by exact type (a subclass, an enum say, goes the
# long way): most properties are encoded without a call.
_PLAIN_TAGS: Final[dict[type, str]] = {str: "s", int: "i", bool: "b"}
# What orjson refuses (a lone surrogate, an int past 64 bits) is written by this, as before.
# Made once: json.dumps() makes an encoder on every call that passes options.
_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _encode_props(entity: Entity) -> str:
    props: dict[str, object] = {}
    for name, value in entity.items():
        tag = _PLAIN_TAGS.get(type(value))
        props[name] = _encode_value(value) if tag is None else (tag, value)
    del props[PARTITION_KEY], props[ROW_KEY]
    # Floats are tagged as text above, so orjson (which writes NaN as null) never meets one;
    # otherwise it writes what _JSON would, several times faster.
    try:
        return orjson.dumps(props).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _JSON.encode(props)


def _decode(pk: bytes, rk: bytes, etag: str, props: str) -> StoredEntity:
    entity: Entity = {PARTITION_KEY: _unkey(pk), ROW_KEY: _unkey(rk)}
    for name, (tag, raw) in read_json(props).items():
        if tag == "s" or tag == "i" or tag == "b":
            entity[name] = raw
        elif tag == "d":
            when = datetime.fromisoformat(raw)  # written in UTC, so normally UTC already
            entity[name] = when if when.tzinfo is UTC else when.astimezone(UTC)
        elif tag == "f":
            entity[name] = float(raw)
        elif tag == "x":
            entity[name] = base64.b64decode(raw)
        else:
            raise StorageError(f"unknown property type tag {tag!r} in the database")
    return StoredEntity(entity, etag)


_KEYS: Final = "tbl = ? AND pk = ? AND rk = ?"
_UPSERT: Final = (
    "INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (tbl, pk, rk) DO UPDATE SET etag = excluded.etag, props = excluded.props"
)
_INSERT: Final = (
    "INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_UPDATE: Final = f"UPDATE entities SET etag = ?, props = ? WHERE {_KEYS}"
_UPDATE_IF: Final = f"{_UPDATE} AND etag = ?"
_DELETE: Final = f"DELETE FROM entities WHERE {_KEYS}"
_DELETE_IF: Final = f"{_DELETE} AND etag = ?"
_GET: Final = f"SELECT pk, rk, etag, props FROM entities WHERE {_KEYS}"
_EXISTS: Final = f"SELECT 1 FROM entities WHERE {_KEYS}"
_TABLE_EXISTS: Final = "SELECT 1 FROM store_tables WHERE name = ?"


def _exists(conn: sqlite3.Connection, keys: tuple[str, bytes, bytes]) -> bool:
    return conn.execute(_EXISTS, keys).fetchone() is not None


# The most rows a query reads on the calling thread (see _do_query): the hop to the database
# thread and back took longer than reading a case's history (about 200 µs against 20).
ON_LOOP_ROWS: Final = 64


def _where(op: Op) -> str:
    return f"({op.entity[PARTITION_KEY]!r}, {op.entity[ROW_KEY]!r})"


class SqliteTableStore(ValidatingTableStore):
    """A ``TableStore`` in ``data_dir/tables.sqlite3``; the file is opened on first use.

    Writes, queries and pings run on one dedicated thread; point reads run on the calling thread,
    with a connection of their own. No connection is used by two threads.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        file_name: str = DEFAULT_FILE_NAME,
        busy_timeout_seconds: float = 30.0,
    ) -> None:
        self._path = Path(data_dir) / file_name
        self._busy_timeout = busy_timeout_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-tables")
        self._closed = False
        # Touched only on the worker thread.
        self._conn: sqlite3.Connection | None = None
        self._known_tables: set[str] = set()
        # ETags are this connection's random prefix and a count of its writes: unique across
        # processes sharing the file without writing a shared counter on every write.
        self._etag_head = ""
        self._etag_count = itertools.count(1)
        # Set once the database thread has made the file and its schema, which the readers need.
        self._file_ready = False
        # The connection for point reads, and the tables it found, on the thread that opened it.
        self._reader: sqlite3.Connection | None = None
        self._reader_thread = 0
        self._reader_tables: set[str] = set()
        # Writes waiting for the next group commit, and whether one is already queued.
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flush_queued = False
        self._pending_lock = threading.Lock()
        self._commits = 0  # written on the database thread only

    @property
    def path(self) -> Path:
        return self._path

    @property
    def commits(self) -> int:
        """The group commits made so far: each one transaction and one fsync, for as many
        writes as were queued together (a figure for diagnostics and the tests)."""
        return self._commits

    # --- plumbing --------------------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StorageUnavailable("the SQLite table store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, work)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connection())
        except (sqlite3.Error, OSError) as exc:
            raise self._storage_error(exc) from exc

    def _storage_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.OperationalError | OSError):
            # "database is locked" past the busy timeout, a missing folder, a full disk...
            return StorageUnavailable(f"SQLite table store {self._path}: {exc}")
        if isinstance(exc, sqlite3.Error):
            return StorageError(f"SQLite table store {self._path}: {exc}")
        return exc

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside a write transaction, committed with the writes queued with it."""
        if self._closed:
            raise StorageUnavailable("the SQLite table store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._pending_lock:
            self._pending.append((work, future))
            queue_flush = not self._flush_queued
            self._flush_queued = True
        if queue_flush:
            # Not run_in_executor(): its future would wake the event loop a second time, for
            # nothing, as _flush answers every write itself.
            self._executor.submit(self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """One transaction for every write queued so far (on the database thread). Every
        write is answered, whatever happens: its result, its own error, or the commit's."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
            self._flush_queued = False
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        lost: BaseException | None = None  # the transaction as a whole failed
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._settle(loop, [(f, None, self._storage_error(exc)) for _, f in batch])
            return
        try:
            for work, future in batch:
                if lost is not None:
                    outcomes.append((future, None, lost))
                    continue
                conn.execute("SAVEPOINT one_write")
                try:
                    result = work(conn)
                except BaseException as exc:
                    outcomes.append((future, None, self._storage_error(exc)))
                    try:
                        conn.execute("ROLLBACK TO one_write")
                        conn.execute("RELEASE one_write")
                    except BaseException as undo:
                        lost = self._storage_error(undo)
                else:
                    conn.execute("RELEASE one_write")
                    outcomes.append((future, result, None))
            if lost is None:
                conn.execute("COMMIT")
                self._commits += 1
        except BaseException as exc:
            lost = lost or self._storage_error(exc)
        if lost is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            answered = {id(f) for f, _, _ in outcomes}
            outcomes = [(f, None, lost) for f, _, _ in outcomes]
            outcomes += [(f, None, lost) for _, f in batch if id(f) not in answered]
        self._settle(loop, outcomes)

    @staticmethod
    def _settle(
        loop: asyncio.AbstractEventLoop,
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
    ) -> None:
        def settle() -> None:
            for future, result, error in outcomes:
                if future.cancelled():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)

        loop.call_soon_threadsafe(settle)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # a committed case record must survive
                # Not executescript(): it would commit the IMMEDIATE transaction half-way.
                self._in_write_transaction(
                    conn, lambda: [conn.execute(statement) for statement in _SCHEMA]
                )
            except BaseException:
                conn.close()
                raise
            # Drawn with the connection, not the store, so that no two writers ever share one.
            self._etag_head = f'W/"{secrets.token_hex(8)}.'
            self._conn = conn
            self._file_ready = True
        return self._conn

    def _reader_here(self) -> sqlite3.Connection | None:
        """The connection for point reads on this thread, opened on first use; None before the
        file exists or on another thread than the one that opened it."""
        if self._reader is None:
            if not self._file_ready:
                return None
            try:
                # No busy timeout: the event loop must not sleep on a lock, the database thread
                # may. Not checked for the thread by sqlite3 so that close() can close it from
                # any; _reader_thread keeps every read on the one thread.
                self._reader = sqlite3.connect(
                    self._path, timeout=0, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error:
                return None
            self._reader_thread = threading.get_ident()
        return self._reader if self._reader_thread == threading.get_ident() else None

    def _close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(sqlite3.Error):  # it is being given up on, or was closed
                reader.close()

    @staticmethod
    def _in_write_transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
        # IMMEDIATE takes the write lock up front, so a read-check-write cannot interleave with
        # another process's write.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _require_table(
        self, conn: sqlite3.Connection, table: str, known: set[str] | None = None
    ) -> str:
        """The table's name as stored; `known` caches the names found (the database thread's
        by default), so is only ever touched on the thread of `conn`."""
        known = self._known_tables if known is None else known
        name = table.lower()
        if name not in known:
            if not conn.execute(_TABLE_EXISTS, (name,)).fetchall():
                raise TableNotFound(f"table {table!r} does not exist: call ensure_tables first")
            known.add(name)  # tables are never dropped, so this cannot go stale
        return name

    def _next_etag(self) -> str:
        return f'{self._etag_head}{next(self._etag_count)}"'

    def _apply(self, conn: sqlite3.Connection, tbl: str, op: Op, *, in_batch: bool) -> str:
        """One operation inside an open write transaction; raises to roll the whole of it back.

        Each is one statement whose row count tells whether it applied; only when it did not is
        the row looked at, to say why."""
        keys = (tbl, _key(op.entity[PARTITION_KEY]), _key(op.entity[ROW_KEY]))
        if op.kind is OpKind.DELETE:
            if op.etag is None or op.etag == "*":
                deleted = conn.execute(_DELETE, keys).rowcount
            else:
                deleted = conn.execute(_DELETE_IF, (*keys, op.etag)).rowcount
                if not deleted and _exists(conn, keys):
                    raise ConcurrencyConflict(f"entity {_where(op)} changed since {op.etag}")
            if not deleted and in_batch:  # Azure fails a batch that deletes a missing entity
                raise EntityNotFound(f"entity {_where(op)} does not exist")
            return ""
        etag = self._next_etag()
        props = _encode_props(op.entity)
        if op.kind is OpKind.UPSERT:
            conn.execute(_UPSERT, (*keys, etag, props))
        elif op.kind is OpKind.INSERT:
            if not conn.execute(_INSERT, (*keys, etag, props)).rowcount:
                raise EntityExists(f"entity {_where(op)} already exists")
        elif op.etag == "*":
            if not conn.execute(_UPDATE, (etag, props, *keys)).rowcount:
                raise EntityNotFound(f"entity {_where(op)} does not exist")
        elif not conn.execute(_UPDATE_IF, (etag, props, *keys, op.etag)).rowcount:
            if _exists(conn, keys):
                raise ConcurrencyConflict(f"entity {_where(op)} changed since {op.etag}")
            raise EntityNotFound(f"entity {_where(op)} does not exist")
        return etag

    # --- the engine ------------------------------------------------------------------------

    async def _do_get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        if self._closed:
            raise StorageUnavailable("the SQLite table store is closed")
        keys = (_key(pk), _key(rk))
        reader = self._reader_here()
        if reader is not None:
            try:
                return self._get(reader, table, keys, self._reader_tables)
            except sqlite3.Error:
                # Busy, say, during another process's recovery: the database thread waits that
                # out, or reports what it cannot cure. The next read opens a fresh connection.
                self._close_reader()
        return await self._run(lambda conn: self._get(conn, table, keys))

    def _get(
        self,
        conn: sqlite3.Connection,
        table: str,
        keys: tuple[bytes, bytes],
        known: set[str] | None = None,
    ) -> StoredEntity | None:
        tbl = self._require_table(conn, table, known)
        # fetchall(), not fetchone(): the statement runs to its end, so its read transaction
        # ends now instead of pinning the connection to this snapshot until the cursor goes.
        rows = conn.execute(_GET, (tbl, *keys)).fetchall()
        return _decode(*rows[0]) if rows else None

    async def _do_query(
        self,
        table: str,
        partition: str | None,
        lower: str | None,
        upper: str | None,
        limit: int | None,
    ) -> list[StoredEntity]:
        column = "pk" if partition is None else "rk"
        clauses = ["tbl = ?"]
        params: list[object] = []
        if partition is not None:
            clauses.append("pk = ?")
            params.append(_key(partition))
        if lower is not None:
            clauses.append(f"{column} >= ?")
            params.append(_key(lower))
        if upper is not None:
            clauses.append(f"{column} < ?")
            params.append(_key(upper))
        sql = (
            f"SELECT pk, rk, etag, props FROM entities WHERE {' AND '.join(clauses)} "
            "ORDER BY pk, rk LIMIT ?"
        )

        def rows_of(
            conn: sqlite3.Connection, most: int | None, known: set[str] | None = None
        ) -> list[tuple[bytes, bytes, str, str]]:
            tbl = self._require_table(conn, table, known)
            # fetchall(): the read transaction ends with the statement (see _get).
            return conn.execute(sql, (tbl, *params, -1 if most is None else most)).fetchall()

        def work(conn: sqlite3.Connection) -> list[StoredEntity]:
            return [_decode(*row) for row in rows_of(conn, limit)]

        if self._closed:
            raise StorageUnavailable("the SQLite table store is closed")
        reader = self._reader_here()
        if reader is not None:
            # A small answer is read here, as a point read is: a case's history, a person's
            # cases. One with more rows than that goes to the database thread, read again.
            most = ON_LOOP_ROWS + 1 if limit is None else min(limit, ON_LOOP_ROWS + 1)
            try:
                rows = rows_of(reader, most, self._reader_tables)
            except sqlite3.Error:
                self._close_reader()  # busy, say: the database thread waits it out (see _get)
            else:
                if len(rows) <= ON_LOOP_ROWS:
                    return [_decode(*row) for row in rows]
        return await self._run(work)

    async def _do_write(self, table: str, op: Op) -> str:
        def work(conn: sqlite3.Connection) -> str:
            if op.kind is OpKind.DELETE:
                # Like the Azure SDK, deleting from a table that does not exist is a no-op.
                return self._apply(conn, table.lower(), op, in_batch=False)
            return self._apply(conn, self._require_table(conn, table), op, in_batch=False)

        return await self._write(work)

    async def _do_transact(self, table: str, ops: list[Op]) -> list[str]:
        def work(conn: sqlite3.Connection) -> list[str]:
            tbl = self._require_table(conn, table)
            return [self._apply(conn, tbl, op, in_batch=True) for op in ops]

        return await self._write(work)

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        """All of it in one savepoint of one group commit: the hints and the transaction are
        stored together or not at all, and the change waits for one commit instead of two."""
        before = [(validate_table_name(r.table), validate_batch(r.ops)) for r in first if r.ops]
        validate_table_name(table)
        checked = validate_batch(ops)

        def work(conn: sqlite3.Connection) -> list[str]:
            for name, batch in before:
                tbl = self._require_table(conn, name)
                for op in batch:
                    self._apply(conn, tbl, op, in_batch=True)
            tbl = self._require_table(conn, table)
            return [self._apply(conn, tbl, op, in_batch=True) for op in checked]

        return await self._write(work)

    async def _do_ensure_tables(self, names: list[str]) -> None:
        rows = [(name.lower(),) for name in names]

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR IGNORE INTO store_tables VALUES (?)", rows)

        await self._write(work)

    async def ping(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT value FROM store_meta WHERE name = 'schema'").fetchone()

        await self._run(work)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_reader()

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, shut)
        finally:
            self._executor.shutdown(wait=False)
