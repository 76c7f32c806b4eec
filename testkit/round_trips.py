"""Counting storage round trips per turn: a wrapper around the table store, and the middleware
that says which turn each call belongs to.

A *round trip* is one call to the table store (a get, a query, a write, a transaction): one
request to Azure Table Storage. A turn's calls are told apart from the background work (the
outbox dispatcher, the scheduler, the directory's refresh) by a context variable that the
middleware sets for the request and that every task the turn starts inherits.

*Sequential* round trips are the longest chain of the turn's calls in which each call starts
only after the one before it has ended: the storage waits the turn makes one after another.
Calls that overlap in time (an ``asyncio.gather`` of writes, a read made while another is in
flight) are links of different chains, so a gathered group counts as one. This is an upper
bound on the turn's critical path: two independent chains that happen to interleave are counted
as one longer chain.

Used by tests/e2e/test_round_trips.py (the ceilings) and benchmarks/ (the figures); the app
itself never wraps its store.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    Entity,
    Op,
    Request,
    StoredEntity,
    TableStore,
    send_requests,
    sent_as_upsert,
)

T = TypeVar("T")

HEADER = "X-Storage-Round-Trips"
# Sent by a benchmark on the turns it wants counted: counting costs a loop iteration per
# storage call, which would weigh on the very turns being timed.
ASK_HEADER = "X-Count-Round-Trips"
READS = frozenset(
    {"get", "query_partition", "query_range"}
)  # added to each /api/messages response by the middleware


@dataclass(frozen=True)
class StoreCall:
    op: str  # get, query_partition, query_range, upsert, insert, update, delete, transact
    table: str
    key: str  # "PartitionKey|RowKey" of a get or a write, the partition of a query or batch
    started: float
    ended: float
    # Calls of its own chain the engine made before it inside one call of ours: the
    # transaction of `transact_after` waits for its hints, in one commit or after them.
    behind: int = 0


@dataclass
class TurnTrace:
    """The table-store calls one turn made."""

    calls: list[StoreCall] = field(default_factory=list)

    def sequential(self) -> int:
        """The longest chain of calls, each starting after the one before it ended."""
        depth: list[int] = []
        ordered = sorted(self.calls, key=lambda c: c.started)
        for i, call in enumerate(ordered):
            before = [depth[j] for j in range(i) if ordered[j].ended <= call.started]
            depth.append(1 + call.behind + max(before, default=0))
        return max(depth, default=0)

    def reads_twice(self) -> list[str]:
        """Rows or partitions this turn read more than once."""
        reads = Counter(
            f"{c.table} {c.key}" for c in self.calls if c.op in ("get", "query_partition")
        )
        return sorted(key for key, n in reads.items() if n > 1)

    def writes(self, table: str) -> list[StoreCall]:
        return [c for c in self.calls if c.table == table and c.op not in READS]

    def by_kind(self) -> Counter[str]:
        """How many calls of each kind, as "op table" (e.g. "get botstate")."""
        return Counter(f"{c.op} {c.table}" for c in self.calls)

    def header(self, seconds: float | None = None) -> str:
        """For HEADER: the counts, and the turn's time in the server when given."""
        said = f"sequential={self.sequential()}; calls={len(self.calls)}"
        return said if seconds is None else f"{said}; ms={seconds * 1000:.3f}"


def _key(entity: Entity) -> str:
    return f"{entity.get(PARTITION_KEY)}|{entity.get(ROW_KEY)}"


CURRENT: ContextVar[TurnTrace | None] = ContextVar("storage_turn_trace", default=None)


def parse_header(value: str | None) -> tuple[int, int]:
    """(sequential, calls) from a response's HEADER."""
    fields = header_fields(value)
    return int(fields.get("sequential", 0)), int(fields.get("calls", 0))


def header_fields(value: str | None) -> dict[str, str]:
    """HEADER's fields: sequential, calls, and ms (the turn's time in the server)."""
    return dict(part.strip().split("=", 1) for part in (value or "").split(";") if "=" in part)


class WrappedStore:
    """A `TableStore` that hands every call to `around` with the inner store's method."""

    def __init__(self, inner: TableStore) -> None:
        self.inner = inner

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        return await call()

    async def get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        return await self.around("get", table, f"{pk}|{rk}", lambda: self.inner.get(table, pk, rk))

    async def query_partition(
        self,
        table: str,
        pk: str,
        *,
        rk_from: str | None = None,
        rk_to: str | None = None,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        return await self.around(
            "query_partition",
            table,
            pk,
            lambda: self.inner.query_partition(
                table, pk, rk_from=rk_from, rk_to=rk_to, limit=limit
            ),
        )

    async def query_range(
        self, table: str, pk_from: str | None, pk_to: str | None, *, limit: int | None = None
    ) -> list[StoredEntity]:
        return await self.around(
            "query_range",
            table,
            f"{pk_from}..{pk_to}",
            lambda: self.inner.query_range(table, pk_from, pk_to, limit=limit),
        )

    async def upsert(self, table: str, entity: Entity) -> str:
        return await self.around(
            "upsert", table, _key(entity), lambda: self.inner.upsert(table, entity)
        )

    async def insert(self, table: str, entity: Entity) -> str:
        return await self.around(
            "insert", table, _key(entity), lambda: self.inner.insert(table, entity)
        )

    async def update(self, table: str, entity: Entity, etag: str) -> str:
        return await self.around(
            "update", table, _key(entity), lambda: self.inner.update(table, entity, etag)
        )

    async def delete(self, table: str, pk: str, rk: str, etag: str | None = None) -> None:
        return await self.around(
            "delete", table, f"{pk}|{rk}", lambda: self.inner.delete(table, pk, rk, etag)
        )

    async def transact(self, table: str, ops: Sequence[Op]) -> list[str]:
        partition = ops[0].pk if ops else ""
        return await self.around(
            "transact", table, partition, lambda: self.inner.transact(table, ops)
        )

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        # Through this wrapper's own calls, so that `around` sees (and may stop) each of them,
        # in the order every engine keeps: `first`, then the transaction.
        await send_requests(self, first)
        return await self.transact(table, ops)

    async def ensure_tables(self, names: Iterable[str]) -> None:
        await self.inner.ensure_tables(names)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class CallLog(WrappedStore):
    """The store, noting the kind and table of every call made through it, in order."""

    def __init__(self, inner: TableStore) -> None:
        super().__init__(inner)
        self.calls: list[tuple[str, str]] = []

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        self.calls.append((op, table))
        return await call()

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [(op, table) for op, table in self.calls if op not in READS]

    def count(self, op: str) -> int:
        return sum(1 for made, _ in self.calls if made == op)


class CountingStore(WrappedStore):
    """Records each call made inside a turn (see CURRENT) on the turn's trace."""

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        trace = CURRENT.get()
        if trace is None:
            return await call()
        started = time.perf_counter()
        # Let calls gathered with this one start before it runs, on any engine: a gathered
        # group overlaps in time even where the engine would answer at once.
        await asyncio.sleep(0)
        try:
            return await call()
        finally:
            trace.calls.append(StoreCall(op, table, key, started, time.perf_counter()))

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        """Handed to the store whole, as the app makes it (one commit, embedded), and counted
        as Azure makes it: each request of `first`, at once, then the transaction."""
        trace = CURRENT.get()
        if trace is None:
            return await self.inner.transact_after(first, table, ops)
        started = time.perf_counter()
        await asyncio.sleep(0)  # as in `around`
        try:
            return await self.inner.transact_after(first, table, ops)
        finally:
            ended = time.perf_counter()
            requests = [r for r in first if r.ops]
            trace.calls += [
                StoreCall("upsert", r.table, _key(r.ops[0].entity), started, ended)
                if sent_as_upsert(r)
                else StoreCall("transact", r.table, r.ops[0].pk, started, ended)
                for r in requests
            ]
            partition = ops[0].pk if ops else ""
            behind = 1 if requests else 0
            trace.calls.append(StoreCall("transact", table, partition, started, ended, behind))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Traces = list[tuple[dict[str, Any], TurnTrace]]


def counting_middleware(traces: Traces | None = None, *, when_asked: bool = False) -> Any:
    """An aiohttp middleware that gives each /api/messages request a trace, says its count in
    HEADER, and appends (the activity's JSON, its trace) to `traces` when given. `when_asked`:
    only the requests that carry ASK_HEADER."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != "/api/messages" or (when_asked and ASK_HEADER not in request.headers):
            return await handler(request)
        trace = TurnTrace()
        started = time.perf_counter()
        token = CURRENT.set(trace)
        try:
            try:
                body = json.loads(await request.read())
            except Exception:  # the edge answers a bad body; only well-formed turns are counted
                body = {}
            response = await handler(request)
        finally:
            CURRENT.reset(token)
        response.headers[HEADER] = trace.header(time.perf_counter() - started)
        if traces is not None:
            traces.append((body if isinstance(body, dict) else {}, trace))
        return response

    return count


def count_turns(
    app: web.Application, traces: Traces | None = None, *, when_asked: bool = False
) -> web.Application:
    """Add the counting middleware to an app made by `app.create_app` (before it starts)."""
    app.middlewares.append(counting_middleware(traces, when_asked=when_asked))
    return app
