"""The core's case repository on the table store: a case's events, state and outbox in one partition.

Key design (see storage/KEYS.md):

* ``Cases`` — PartitionKey = case id. RowKeys ``state`` (a summary for queries), ``event-00000001``
  … (the hash-chained history; the truth) and ``outbox-<hash of key>`` (messages to send). One
  transaction saves a change's events, the state and its messages together, or nothing.
  Concurrency needs no ETag: two writers that read the same version both insert the same next
  ``event-`` row, and the second insert fails the whole transaction.
* Indexes live in other tables, so they cannot join that transaction. They are written *before*
  it, as hints: a crash leaves a hint that points at nothing (harmless: readers check the case),
  never a case that no index can find.
  - ``CaseIndex``: PartitionKey = board id, RowKey = case id (audit, purge, reports).
  - ``PersonCases``: PartitionKey = person id, RowKey = case id ("my cases").
  - ``DueIndex``: PartitionKey = ``due-YYYY-MM-DDTHH`` (UTC hour of a running clock's deadline),
    RowKey = ``case|stage|clock``. The scheduler reads the partitions up to now: its cost grows with
    what is due, not with the number of open cases.
  - ``OutboxPending``: PartitionKey = ``pending``, RowKey = ``case|row`` of each unsent message,
    so that the dispatcher finds after a restart what a crash left unsent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from escalation.case import Case, ClockStatus, evolve, fold
from escalation.errors import ConcurrencyConflict
from escalation.events import Event
from escalation.json_text import read_json
from escalation.notifications import Notification, Recipient
from escalation.ports import StoredCase
from storage.recent_cases import RecentCases
from storage.tables import (
    MAX_BATCH_OPERATIONS,
    PARTITION_KEY,
    ROW_KEY,
    Entity,
    EntityExists,
    Op,
    Request,
    StoredEntity,
    TableStore,
    batches,
    join_text,
    split_text,
)
from storage.tables import (
    ConcurrencyConflict as StoreConflict,
)

CASES: Final = "Cases"
CASE_INDEX: Final = "CaseIndex"
PERSON_CASES: Final = "PersonCases"
DUE_INDEX: Final = "DueIndex"
OUTBOX_PENDING: Final = "OutboxPending"
TABLES: Final = (CASES, CASE_INDEX, PERSON_CASES, DUE_INDEX, OUTBOX_PENDING)

STATE_ROW: Final = "state"
EVENT_PREFIX: Final = "event-"
OUTBOX_PREFIX: Final = "outbox-"


def event_row(seq: int) -> str:
    return f"{EVENT_PREFIX}{seq:08d}"


def outbox_row(key: str) -> str:
    # Keys hold ':' and ids from Teams; a digest is a safe, fixed-length RowKey.
    return OUTBOX_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def due_partition(moment: datetime) -> str:
    return f"due-{moment.astimezone(UTC):%Y-%m-%dT%H}"


def safe_key(text: str) -> str:
    """A reversible key for ids that may hold characters Azure forbids in keys."""
    return "".join(ch if ch.isalnum() or ch in "-_.:@=+" else f"~{ord(ch):04x}" for ch in text)


# Made once: json.dumps() makes an encoder on every call that passes options. Not orjson: it
# writes NaN as null and some floats in other words (1e16 for 1e+16), and event data may hold any.
_CANONICAL: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json(value: Any) -> str:
    return _CANONICAL.encode(value)


def event_entity(event: Event) -> Entity:
    entity: Entity = {
        PARTITION_KEY: event.case_id,
        ROW_KEY: event_row(event.seq),
        "seq": event.seq,
        "type": event.type,
        "at": event.at,
        "author": event.author,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    entity.update(split_text("data", event.data_json or _json(dict(event.data))))
    return entity


def entity_event(entity: Entity) -> Event:
    return Event(
        case_id=str(entity[PARTITION_KEY]),
        seq=int(entity["seq"]),
        type=str(entity["type"]),
        at=_utc(entity["at"]),
        author=str(entity["author"]),
        data=read_json(join_text("data", entity)),
        prev_hash=str(entity["prev_hash"]),
        hash=str(entity["hash"]),
    )


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def state_entity(case: Case) -> Entity:
    """What queries need without folding the history: the case's summary."""
    nxt = case.next_due()
    entity: Entity = {
        PARTITION_KEY: case.id,
        ROW_KEY: STATE_ROW,
        "board_id": case.board_id,
        "track": case.track,
        "stage": case.stage,
        "status": case.status.value,
        "version": case.version,
        "raised_at": case.raised_at,
        "updated_at": case.updated_at or case.raised_at,
        "immediate_risk": case.immediate_risk,
        "category": case.category,
        "adult_reference": case.adult_reference,
        "raiser_id": case.raiser.person_id or "",
        "raiser_agency": case.raiser.agency_id,
        "receiver_id": case.receiver.person_id or "",
        "receiver_agency": case.receiver.agency_id,
    }
    if nxt is not None:
        entity["next_due"] = nxt.effective_due
        entity["next_due_clock"] = f"{nxt.stage}:{nxt.clock}"
    if case.closure is not None:
        entity["closed_at"] = case.closure.at
    return entity


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    board_id: str
    stage: str
    status: str
    version: int
    raised_at: datetime
    updated_at: datetime
    next_due: datetime | None
    closed_at: datetime | None
    immediate_risk: bool
    adult_reference: str

    @classmethod
    def from_entity(cls, entity: Entity) -> CaseSummary:
        return cls(
            case_id=str(entity[PARTITION_KEY]),
            board_id=str(entity["board_id"]),
            stage=str(entity["stage"]),
            status=str(entity["status"]),
            version=int(entity["version"]),
            raised_at=_utc(entity["raised_at"]),
            updated_at=_utc(entity["updated_at"]),
            next_due=_utc(entity["next_due"]) if "next_due" in entity else None,
            closed_at=_utc(entity["closed_at"]) if "closed_at" in entity else None,
            immediate_risk=bool(entity["immediate_risk"]),
            adult_reference=str(entity["adult_reference"]),
        )


def notification_entity(notification: Notification, *, created_at: datetime) -> Entity:
    n = notification
    return {
        PARTITION_KEY: n.case_id,
        ROW_KEY: outbox_row(n.key),
        "key": n.key,
        "event_seq": n.event_seq,
        "kind": n.kind,
        "recipient_kind": n.recipient.kind,
        "recipient_id": n.recipient.id,
        "reason": n.reason,
        "stage": n.stage,
        "clauses": _json(list(n.clauses)),
        "action_required": n.action_required,
        "details": _json(n.details),
        "status": "pending",
        "attempts": 0,
        "created_at": created_at,
        "next_attempt_at": created_at,
    }


def entity_notification(entity: Entity) -> Notification:
    notification = Notification(
        case_id=str(entity[PARTITION_KEY]),
        event_seq=int(entity["event_seq"]),
        kind=str(entity["kind"]),
        recipient=Recipient(str(entity["recipient_kind"]), str(entity["recipient_id"])),
        reason=str(entity["reason"]),
        stage=str(entity["stage"]),
        clauses=tuple(read_json(str(entity["clauses"]))),
        action_required=bool(entity["action_required"]),
        details=dict(read_json(str(entity["details"]))),
    )
    stored_key = str(entity["key"])
    if stored_key != notification.key:  # a nudge, keyed by its day rather than an event
        notification = replace(notification, key_override=stored_key)
    return notification


@dataclass(frozen=True)
class TableNames:
    """The tables one deployment uses; a prefix lets deployments (or tests) share an account."""

    prefix: str = ""

    @property
    def cases(self) -> str:
        return self.prefix + CASES

    @property
    def case_index(self) -> str:
        return self.prefix + CASE_INDEX

    @property
    def person_cases(self) -> str:
        return self.prefix + PERSON_CASES

    @property
    def due_index(self) -> str:
        return self.prefix + DUE_INDEX

    @property
    def outbox_pending(self) -> str:
        return self.prefix + OUTBOX_PENDING

    @property
    def directory(self) -> str:
        return self.prefix + "Directory"

    @property
    def conversations(self) -> str:
        return self.prefix + "Conversations"

    @property
    def bot_state(self) -> str:
        return self.prefix + "botstate"

    @property
    def leases(self) -> str:
        return self.prefix + "Leases"

    @property
    def access_log(self) -> str:
        return self.prefix + "CaseAccess"

    def all(self) -> tuple[str, ...]:
        return tuple(self.prefix + name for name in TABLES)


class TableCaseRepository:
    """`escalation.ports.CaseRepository` on a `TableStore` (Azure Tables or SQLite)."""

    def __init__(
        self,
        store: TableStore,
        tables: TableNames | None = None,
        recent: RecentCases | None = None,
    ) -> None:
        self._store = store
        self._t = tables or TableNames()
        self._recent = recent if recent is not None else RecentCases()

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables(self._t.all())

    # -- the core's port ---------------------------------------------------------------------------

    async def load(self, case_id: str) -> StoredCase | None:
        """The case's history: one read, of the events after those already held (RecentCases)
        when this instance read or saved the case before, else of them all."""
        known = self._recent.get(case_id)
        if known is not None and known.events:
            stored = await self._load_after(known)
            if stored is not None:
                self._recent.keep(case_id, stored)
                return stored
            self._recent.forget(case_id)
        rows = await self._store.query_partition(
            self._t.cases, case_id, rk_from=EVENT_PREFIX, rk_to=EVENT_PREFIX + "~"
        )
        if not rows:
            return None
        stored = StoredCase(tuple(entity_event(r.entity) for r in rows))
        self._recent.keep(case_id, stored)
        return stored

    async def _load_after(self, known: StoredCase) -> StoredCase | None:
        """`known` and the events stored after it, read from its last event on; None when
        that event is not there as known (the case was deleted): the caller reads it whole."""
        last = known.events[-1]
        rows = await self._store.query_partition(
            self._t.cases, last.case_id, rk_from=event_row(last.seq), rk_to=EVENT_PREFIX + "~"
        )
        if not rows or rows[0].entity.get(ROW_KEY) != event_row(last.seq):
            return None
        if rows[0].entity.get("hash") != last.hash:
            return None
        if len(rows) == 1:
            return known
        new = tuple(entity_event(r.entity) for r in rows[1:])
        if any(e.seq != last.seq + 1 + i for i, e in enumerate(new)):
            return None
        return StoredCase((*known.events, *new), folded=known.fold_so_far())

    async def save(
        self,
        case: Case,
        new_events: Sequence[Event],
        notifications: Sequence[Notification],
        *,
        expected_version: int,
        previous: Case | None = None,
    ) -> None:
        if not new_events:
            return
        if new_events[0].seq != expected_version + 1:
            raise ValueError("new events must follow the expected version")
        now = new_events[-1].at
        ops = [Op.insert(event_entity(e)) for e in new_events]
        ops.append(Op.upsert(state_entity(case)))
        ops += [Op.insert(notification_entity(n, created_at=now)) for n in notifications]
        if len(ops) > MAX_BATCH_OPERATIONS:
            raise ValueError(
                f"a change to case {case.id} needs {len(ops)} writes; one transaction holds "
                f"{MAX_BATCH_OPERATIONS}"
            )
        hints = self._hints(case, notifications, written_at=now, previous=previous)
        try:
            await self._store.transact_after(hints, self._t.cases, ops)
        except (EntityExists, StoreConflict) as exc:
            self._recent.forget(case.id)
            raise ConcurrencyConflict(
                f"case {case.id} changed since version {expected_version}"
            ) from exc
        self._keep_saved(case, new_events, expected_version)

    def _keep_saved(self, case: Case, new_events: Sequence[Event], expected_version: int) -> None:
        """Hold the history as saved, with `case` as its fold, when the history before the
        save is the one held (or the case is new); else hold nothing, to be read again."""
        known = self._recent.get(case.id)
        if expected_version == 0:
            before: tuple[Event, ...] = ()
        elif known is not None and known.version == expected_version:
            before = tuple(known.events)
        else:
            self._recent.forget(case.id)
            return
        events = (*before, *new_events)
        folded = case if case.version == len(events) else None
        self._recent.keep(case.id, StoredCase(events, folded=folded))

    def _hints(
        self,
        case: Case,
        notifications: Sequence[Notification],
        *,
        written_at: datetime,
        previous: Case | None = None,
    ) -> list[Request]:
        """Index rows, written first so that no saved case or message is ever unfindable
        (`TableStore.transact_after`), and only those the change adds: given the case as it
        was before (`previous`), rows it already had are left alone, since the save that gave
        it them wrote them before its own transaction."""
        requests: list[Request] = []
        if previous is None or previous.board_id != case.board_id:
            row = {PARTITION_KEY: case.board_id, ROW_KEY: case.id, "case_id": case.id}
            requests.append(Request(self._t.case_index, [Op.upsert(row)]))
        people = _party_ids(case)
        people |= {n.recipient.id for n in notifications if n.recipient.kind == "person"}
        if previous is not None:
            people -= _party_ids(previous)
        for person_id in sorted(people):
            row = {PARTITION_KEY: safe_key(person_id), ROW_KEY: case.id, "person_id": person_id}
            requests.append(Request(self._t.person_cases, [Op.upsert(row)]))
        had = {} if previous is None else _due_hints(previous)
        due: dict[str, list[Op]] = {}
        for (partition, row_key), clock_due in _due_hints(case).items():
            if had.get((partition, row_key)) != clock_due:
                entity = {
                    PARTITION_KEY: partition,
                    ROW_KEY: row_key,
                    "case_id": case.id,
                    "due": clock_due,
                    "written_at": written_at,
                }
                due.setdefault(partition, []).append(Op.upsert(entity))
        requests += [
            Request(self._t.due_index, batch) for ops in due.values() for batch in batches(ops)
        ]
        pending = [
            Op.upsert(
                {
                    PARTITION_KEY: "pending",
                    ROW_KEY: f"{n.case_id}|{outbox_row(n.key)}",
                    "case_id": n.case_id,
                    "row": outbox_row(n.key),
                    "written_at": written_at,
                }
            )
            for n in notifications
        ]
        requests += [Request(self._t.outbox_pending, batch) for batch in batches(pending)]
        return requests

    # -- queries -----------------------------------------------------------------------------------

    async def summary(self, case_id: str) -> CaseSummary | None:
        found = await self._store.get(self._t.cases, case_id, STATE_ROW)
        return None if found is None else CaseSummary.from_entity(found.entity)

    async def case_ids(self, board_id: str | None = None) -> list[str]:
        """Every case the index knows (hints: a case id may point at a change never saved)."""
        if board_id is None:
            rows = await self._store.query_range(self._t.case_index, None, None)
        else:
            rows = await self._store.query_partition(self._t.case_index, board_id)
        return [str(r.entity[ROW_KEY]) for r in rows]

    async def cases_of_person(self, person_id: str) -> list[CaseSummary]:
        rows = await self._store.query_partition(self._t.person_cases, safe_key(person_id))
        found = await asyncio.gather(*(self.summary(str(row.entity[ROW_KEY])) for row in rows))
        return [summary for summary in found if summary is not None]

    async def due_hints(self, until: datetime, *, limit: int | None = None) -> list[Entity]:
        """Index rows of clocks falling due up to the end of `until`'s hour (stale ones too)."""
        upper = due_partition(until) + "~"
        rows = await self._store.query_range(self._t.due_index, "due-", upper, limit=limit)
        return [r.entity for r in rows]

    async def forget_due_hint(self, hint: Entity) -> None:
        await self._store.delete(self._t.due_index, str(hint[PARTITION_KEY]), str(hint[ROW_KEY]))

    async def delete_case(self, case_id: str, board_id: str) -> int:
        """Remove a case's every row and every index row that names it (retention).

        Returns the rows removed from the case's partition. The indexes go first and the
        partition's ``state`` row last, then the ``CaseIndex`` row: a purge stopped part-way
        still finds the case (closed, past retention) and finishes the job the next time.
        """
        self._recent.forget(case_id)
        rows = await self._store.query_partition(self._t.cases, case_id)
        for person_id in sorted(_people_named(rows)):
            await self._store.delete(self._t.person_cases, safe_key(person_id), case_id)
        for partition, row_key in sorted(_due_hints_written(case_id, rows)):
            await self._store.delete(self._t.due_index, partition, row_key)
        pending = await self._store.query_partition(
            self._t.outbox_pending, "pending", rk_from=f"{case_id}|", rk_to=f"{case_id}|~"
        )
        for row in pending:
            await self._store.delete(self._t.outbox_pending, "pending", str(row.entity[ROW_KEY]))
        ordered = [r for r in rows if r.entity[ROW_KEY] != STATE_ROW]
        ordered += [r for r in rows if r.entity[ROW_KEY] == STATE_ROW]
        for batch in batches(ordered):
            await self._store.transact(
                self._t.cases, [Op.delete(case_id, str(r.entity[ROW_KEY])) for r in batch]
            )
        await self._store.delete(self._t.case_index, board_id, case_id)
        return len(rows)


def _party_ids(case: Case) -> set[str]:
    return {p.person_id for p in case.parties if p.person_id}


def _due_hints(case: Case) -> dict[tuple[str, str], datetime]:
    """The `DueIndex` keys of the case's running clocks, with when each falls due."""
    return {
        (due_partition(c.effective_due), f"{case.id}|{c.stage}|{c.clock}"): c.effective_due
        for c in case.clocks
        if c.status == ClockStatus.RUNNING
    }


def _people_named(rows: Sequence[StoredEntity]) -> set[str]:
    """Everyone ``_hints`` may have indexed the case under: its parties (from the state
    row and the history) and the people its messages went to."""
    people: set[str] = set()
    events = []
    for row in rows:
        entity = row.entity
        key = str(entity[ROW_KEY])
        if key == STATE_ROW:
            people |= {str(entity.get(k) or "") for k in ("raiser_id", "receiver_id")}
        elif key.startswith(OUTBOX_PREFIX) and entity.get("recipient_kind") == "person":
            people.add(str(entity["recipient_id"]))
        elif key.startswith(EVENT_PREFIX):
            events.append(entity_event(entity))
    if events and events[0].type == "CaseRaised":
        people |= {p.person_id or "" for p in fold(events).parties}
    return people - {""}


def _due_hints_written(case_id: str, rows: Sequence[StoredEntity]) -> set[tuple[str, str]]:
    """Every ``DueIndex`` key a save of this case may have written: each running clock's due
    hour, as the case stood after each event (a superset of the saves; deleting a row that is
    not there is no error)."""
    events = [
        entity_event(r.entity) for r in rows if str(r.entity[ROW_KEY]).startswith(EVENT_PREFIX)
    ]
    if not events or events[0].type != "CaseRaised":
        return set()  # a purge stopped part-way: its first pass removed these
    keys: set[tuple[str, str]] = set()
    case = fold(events[:1])
    for event in events:
        if event.seq > 1:
            case = evolve(case, [event])
        keys |= {
            (due_partition(c.effective_due), f"{case_id}|{c.stage}|{c.clock}")
            for c in case.running_clocks()
        }
    return keys
