"""Requests to join an agency (or change agency or line manager), their decisions, and the notices
that tell the approvers and the requester: on the directory table, beside the people.

Key design, table ``Directory``, PartitionKey ``request`` (one partition, so a request and its
notices are written in one transaction):

* RowKey ``req-<id>``: the request as asked and as decided (``escalation.joining.JoinRequest``),
  kept as the board's record of who granted what.
* RowKey ``notice-<id>-<kind>-<recipient>``: a message still to deliver: the approval card to
  each approver (``approve``), or the decision to the requester (``result``). Written with the
  request or the decision, before anyone is told it was sent; deleted once delivered.
  Delivery claims a notice with its ETag and a lease, as the case outbox does
  (``storage.outbox``), so two instances never both send one and a dead instance's claim runs
  out.

The order of writes keeps authority safe: a request first makes the person row pending (which
drops any authority at once), then writes the request and its notices; an approval first makes
the person row active again (only if it still waits on this request: its ETag), then records the
decision and the notice to the requester. A crash between the two leaves a pending entry whose
request is missing (the person asks again) or a decided entry whose request still reads open
(approving it again finds the entry no longer waiting, and closes it): never authority nobody
granted.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from escalation.delivery import Delivery, DeliveryResult
from escalation.directory import Directory, Standing, tenant_key
from escalation.errors import RefusalCode, Refused
from escalation.joining import (
    BY_THE_BOARD,
    Approver,
    BoardAgencies,
    JoinRequest,
    RequestState,
    approved_entry,
    approvers,
    check_approver,
    check_reason,
    check_request,
    decided_message,
    declined_entry,
    pending_entry,
    requested_roles,
)
from escalation.json_text import read_json
from storage.cases import safe_key
from storage.directory_store import DirectoryStore, StoredPerson
from storage.outbox import jittered_backoff
from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
    StoredEntity,
    TableStore,
)

REQUEST_PARTITION: Final = "request"
_REQUEST_PREFIX: Final = "req-"
_NOTICE_PREFIX: Final = "notice-"
# Request ids are read aloud and typed into the command line: no 0/O, 1/I/L or U.
_ID_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_PATTERN_LENGTH: Final = 6


class NoticeKind(StrEnum):
    APPROVE = "approve"  # the approval card, to each person who may approve
    RESULT = "result"  # the decision, to the person who asked


def new_request_id() -> str:
    return "JR-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_PATTERN_LENGTH))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utc(value: object) -> datetime:
    assert isinstance(value, datetime), value
    return value.astimezone(UTC)


def _text(entity: Entity, name: str) -> str | None:
    value = entity.get(name)
    return value if isinstance(value, str) else None


# --- rows ---------------------------------------------------------------------------------------


def request_entity(request: JoinRequest) -> Entity:
    entity: Entity = {
        PARTITION_KEY: REQUEST_PARTITION,
        ROW_KEY: _REQUEST_PREFIX + request.id,
        "id": request.id,
        "person_id": request.person_id,
        "name": request.name,
        "agency": request.agency_id,
        "roles": _json(sorted(request.roles)),
        "tenant": request.tenant_id,
        "created_at": request.created_at,
        "previous_roles": _json(sorted(request.previous_roles)),
        "state": request.state.value,
    }
    optional: dict[str, object | None] = {
        "line_manager": request.line_manager_id,
        "previous_agency": request.previous_agency_id,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "reason": request.reason,
    }
    entity.update({k: v for k, v in optional.items() if v is not None})
    return entity


def _request(entity: Entity) -> JoinRequest:
    decided_at = entity.get("decided_at")
    return JoinRequest(
        id=str(entity["id"]),
        person_id=str(entity["person_id"]),
        name=str(entity["name"]),
        agency_id=str(entity["agency"]),
        line_manager_id=_text(entity, "line_manager"),
        roles=frozenset(read_json(str(entity["roles"]))),
        tenant_id=str(entity["tenant"]),
        created_at=_utc(entity["created_at"]),
        previous_agency_id=_text(entity, "previous_agency"),
        previous_roles=frozenset(read_json(str(entity.get("previous_roles") or "[]"))),
        state=RequestState(str(entity["state"])),
        decided_by=_text(entity, "decided_by"),
        decided_at=_utc(decided_at) if decided_at is not None else None,
        reason=_text(entity, "reason"),
    )


@dataclass(frozen=True)
class Notice:
    """A message about a request still to deliver, as read (with its row's ETag)."""

    request_id: str
    kind: NoticeKind
    recipient_id: str
    attempts: int
    next_attempt_at: datetime
    row_key: str
    etag: str
    sending: bool = False
    lease_until: datetime | None = None
    last_error: str | None = None


def notice_key(request_id: str, kind: NoticeKind, recipient_id: str) -> str:
    return f"{_NOTICE_PREFIX}{request_id}-{kind.value}-{safe_key(recipient_id)}"


def notice_entity(request_id: str, kind: NoticeKind, recipient_id: str, now: datetime) -> Entity:
    return {
        PARTITION_KEY: REQUEST_PARTITION,
        ROW_KEY: notice_key(request_id, kind, recipient_id),
        "request_id": request_id,
        "kind": kind.value,
        "recipient": recipient_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _notice(row: StoredEntity) -> Notice:
    e = row.entity
    return Notice(
        request_id=str(e["request_id"]),
        kind=NoticeKind(str(e["kind"])),
        recipient_id=str(e["recipient"]),
        attempts=int(e["attempts"]),
        next_attempt_at=_utc(e["next_attempt_at"]),
        row_key=str(e[ROW_KEY]),
        etag=row.etag,
        sending=e.get("status") == "sending",
        lease_until=_utc(e["lease_until"]) if "lease_until" in e else None,
        last_error=_text(e, "last_error"),
    )


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    request: JoinRequest
    approvers: tuple[Approver, ...]


@dataclass(frozen=True)
class Decided:
    request: JoinRequest
    agency_name: str


@dataclass(frozen=True)
class Caller:
    """Who asks, as the bot knows them: their Teams ids and the tenant they signed in from."""

    person_id: str
    display_name: str
    tenant_id: str | None
    teams_user_id: str | None
    aad_object_id: str | None


# --- the store ----------------------------------------------------------------------------------


class JoinRequestStore:
    def __init__(
        self,
        store: TableStore,
        directory: DirectoryStore,
        *,
        now: Callable[[], datetime],
        table: str,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 12,
        new_id: Callable[[], str] = new_request_id,
    ) -> None:
        self._store = store
        self._directory = directory
        self._now = now
        self._table = table
        self._lease = lease
        self._max_attempts = max_attempts
        self._new_id = new_id

    async def _fresh(self) -> Directory:
        """The directory as it is now: a decision about authority never trusts a cached one."""
        self._directory.invalidate()
        return await self._directory.snapshot()

    # -- asking ----------------------------------------------------------------------------

    async def submit(
        self,
        caller: Caller,
        *,
        agency_id: str,
        line_manager_id: str | None,
        boards: BoardAgencies,
    ) -> Submitted:
        """Ask to join `agency_id` (with `line_manager_id`, or none named). The entry is pending
        from now on, holding nothing, until someone approves it. Raises Refused, with what to do
        next, when the request could never be approved or the entry changed meanwhile."""
        directory = await self._fresh()
        existing = await self._directory.entry(caller.person_id)
        person = existing.person if existing is not None else None
        if existing is not None and not _same_caller(existing, caller):
            raise Refused(
                RefusalCode.NOT_PERMITTED,
                "Your Teams account does not match this directory entry: nothing was asked.",
            )
        agency_name = boards.name(agency_id)
        roles = boards.roles(agency_id)
        check_request(
            directory,
            person_id=caller.person_id,
            existing=person,
            tenant_id=caller.tenant_id,
            agency_id=agency_id,
            agency_name=agency_name,
            line_manager_id=line_manager_id,
            contacts=boards.contacts(directory, agency_id),
            roles=roles,
        )
        assert caller.tenant_id is not None  # check_request refuses an activity with no tenant
        was_active = person is not None and person.active
        request = JoinRequest(
            id=self._new_id(),
            person_id=caller.person_id,
            name=person.name if person is not None else caller.display_name,
            agency_id=agency_id,
            line_manager_id=line_manager_id,
            roles=requested_roles(person, agency_id, roles),
            tenant_id=tenant_key(caller.tenant_id),
            created_at=self._now(),
            previous_agency_id=person.agency_id if person is not None and was_active else None,
            previous_roles=person.roles if person is not None and was_active else frozenset(),
        )
        pending = pending_entry(request, person)
        try:
            await self._directory.write_entry(
                pending,
                teams_user_id=existing.teams_user_id if existing else caller.teams_user_id,
                aad_object_id=existing.aad_object_id if existing else caller.aad_object_id,
                request_id=request.id,
                etag=existing.etag if existing is not None else None,
            )
        except (ConcurrencyConflict, EntityExists):
            raise Refused(
                RefusalCode.CONFLICT,
                "Your directory entry changed while you were asking. Type 'profile' to ask again.",
            ) from None
        except ValueError:
            raise Refused(
                RefusalCode.NOT_PERMITTED,
                "Your Teams account already belongs to another directory entry: ask your "
                "board's business manager. Nothing was asked.",
            ) from None
        found = tuple(approvers(directory, pending, roles))
        now = self._now()
        await self._store.transact(
            self._table,
            [
                Op.insert(request_entity(request)),
                *(
                    Op.insert(notice_entity(request.id, NoticeKind.APPROVE, a.person.id, now))
                    for a in found
                ),
            ],
        )
        if existing is not None and existing.request_id and existing.request_id != request.id:
            await self._close(existing.request_id, RequestState.SUPERSEDED)
        return Submitted(request, found)

    # -- reading ---------------------------------------------------------------------------

    async def get(self, request_id: str) -> JoinRequest | None:
        found = await self._read(request_id)
        return None if found is None else found[0]

    async def requests(self, *, open_only: bool = True) -> list[JoinRequest]:
        """Requests, oldest first; only those still waiting, unless `open_only` is False."""
        rows = await self._store.query_partition(
            self._table, REQUEST_PARTITION, rk_from=_REQUEST_PREFIX, rk_to=_REQUEST_PREFIX + "~"
        )
        found = [_request(r.entity) for r in rows]
        if open_only:
            found = [r for r in found if r.is_open]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def _read(self, request_id: str) -> tuple[JoinRequest, str] | None:
        if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > 40:
            return None
        key = _REQUEST_PREFIX + safe_key(request_id.strip().upper())
        row = await self._store.get(self._table, REQUEST_PARTITION, key)
        return None if row is None else (_request(row.entity), row.etag)

    # -- deciding --------------------------------------------------------------------------

    async def approve(self, request_id: str, *, by: str | None, boards: BoardAgencies) -> Decided:
        """Approve: the entry becomes active with the roles and line manager asked for. `by` is
        the approver's person id (checked: the named line manager or an agency administrator),
        or None for the board's own directory administrator (the command line)."""
        return await self._decide(request_id, by=by, boards=boards, reason=None)

    async def decline(
        self, request_id: str, *, by: str | None, reason: str | None, boards: BoardAgencies
    ) -> Decided:
        """Decline, saying why: the entry stays without authority, and the person is told."""
        return await self._decide(request_id, by=by, boards=boards, reason=check_reason(reason))

    async def _decide(
        self, request_id: str, *, by: str | None, boards: BoardAgencies, reason: str | None
    ) -> Decided:
        found = await self._read(request_id)
        if found is None:
            raise Refused(
                RefusalCode.NOT_FOUND,
                f"There is no request {request_id}: `escalation directory requests` lists "
                "those waiting.",
            )
        request, _etag = found
        directory = await self._fresh()
        if not request.is_open:
            raise Refused(
                RefusalCode.INVALID_STATE,
                decided_message(request, _decider(directory, request.decided_by)),
            )
        entry = await self._directory.entry(request.person_id)
        if (
            entry is None
            or entry.request_id != request.id
            or entry.person.status != Standing.PENDING
        ):
            closed = await self._close(request.id, RequestState.SUPERSEDED)
            raise Refused(
                RefusalCode.INVALID_STATE,
                decided_message(closed or request, _decider(directory, None)),
            )
        agency_name = boards.name(request.agency_id)
        if by is not None:
            check_approver(
                directory,
                entry.person,
                by,
                agency_name=agency_name,
                roles=boards.roles(request.agency_id),
            )
        decided_entry = (
            approved_entry(directory, entry.person)
            if reason is None
            else declined_entry(entry.person)
        )
        try:
            await self._directory.write_entry(
                decided_entry,
                teams_user_id=entry.teams_user_id,
                aad_object_id=entry.aad_object_id,
                request_id=None,
                etag=entry.etag,
            )
        except (ConcurrencyConflict, EntityExists):
            raise Refused(
                RefusalCode.CONFLICT,
                f"{request.name}'s entry changed while you were deciding: look at the request "
                "again. Nothing was changed.",
            ) from None
        now = self._now()
        decided = replace(
            request,
            state=RequestState.APPROVED if reason is None else RequestState.DECLINED,
            decided_by=by or BY_THE_BOARD,
            decided_at=now,
            reason=reason,
        )
        await self._store.transact(
            self._table,
            [
                Op.upsert(request_entity(decided)),
                Op.upsert(notice_entity(decided.id, NoticeKind.RESULT, decided.person_id, now)),
            ],
        )
        return Decided(decided, agency_name)

    async def _close(self, request_id: str, state: RequestState) -> JoinRequest | None:
        """Mark an open request closed without a decision (its entry moved on)."""
        found = await self._read(request_id)
        if found is None or not found[0].is_open:
            return None if found is None else found[0]
        request, etag = found
        closed = replace(request, state=state, decided_at=self._now())
        try:
            await self._store.update(self._table, request_entity(closed), etag)
        except (ConcurrencyConflict, EntityNotFound):
            return None  # decided or closed meanwhile: that write stands
        return closed

    # -- notices ---------------------------------------------------------------------------

    async def due_notices(self, now: datetime, *, limit: int = 100) -> list[Notice]:
        rows = await self._store.query_partition(
            self._table, REQUEST_PARTITION, rk_from=_NOTICE_PREFIX, rk_to=_NOTICE_PREFIX + "~"
        )
        due = []
        for row in rows:
            notice = _notice(row)
            if row.entity.get("status") == "failed":
                continue
            leased = notice.sending and notice.lease_until is not None and notice.lease_until > now
            if not leased and notice.next_attempt_at <= now:
                due.append(notice)
        due.sort(key=lambda n: (n.next_attempt_at, n.row_key))
        return due[:limit]

    async def claim(self, notice: Notice, now: datetime) -> Notice | None:
        """Take a notice for sending; None if another instance took or finished it first."""
        row = await self._store.get(self._table, REQUEST_PARTITION, notice.row_key)
        if row is None or row.etag != notice.etag:
            return None
        entity = dict(row.entity)
        entity.update(
            {"status": "sending", "attempts": notice.attempts + 1, "lease_until": now + self._lease}
        )
        try:
            etag = await self._store.update(self._table, entity, notice.etag)
        except (ConcurrencyConflict, EntityNotFound):
            return None
        return replace(
            notice,
            attempts=notice.attempts + 1,
            etag=etag,
            sending=True,
            lease_until=now + self._lease,
        )

    async def delivered(self, notice: Notice) -> None:
        """Sent (or no longer needed): the notice is removed."""
        try:
            await self._store.delete(self._table, REQUEST_PARTITION, notice.row_key, notice.etag)
        except (ConcurrencyConflict, EntityNotFound):
            return  # the lease was lost to another instance, which finishes it

    async def retry_later(
        self, notice: Notice, at: datetime, error: str, *, final: bool = False
    ) -> bool:
        """Back to pending for a later attempt; False (and kept as failed, for the board to
        see) after the last attempt, or at once when `final`."""
        failed = final or notice.attempts >= self._max_attempts
        row = await self._store.get(self._table, REQUEST_PARTITION, notice.row_key)
        if row is None:
            return False
        entity = dict(row.entity)
        entity.pop("lease_until", None)
        entity.update(
            {
                "status": "failed" if failed else "pending",
                "next_attempt_at": at,
                "last_error": error[:1000],
            }
        )
        try:
            await self._store.update(self._table, entity, notice.etag)
        except (ConcurrencyConflict, EntityNotFound):
            return True  # another instance holds it now
        return not failed


def _same_caller(entry: StoredPerson, caller: Caller) -> bool:
    """Whether the caller's Teams ids are the entry's: only the person may ask for themselves."""
    theirs = {i for i in (entry.teams_user_id, entry.aad_object_id) if i}
    given = {i for i in (caller.teams_user_id, caller.aad_object_id) if i}
    return bool(theirs & given)


def _decider(directory: Directory, decided_by: str | None) -> str:
    if decided_by is None:
        return "nobody"
    person = directory.person(decided_by)
    return person.name if person is not None else decided_by


# --- delivery -----------------------------------------------------------------------------------

SendNotice = Callable[[Notice, JoinRequest], Awaitable[Delivery]]


@dataclass
class NoticeReport:
    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # approval cards for requests decided since


async def deliver_notices(
    requests: JoinRequestStore,
    send: SendNotice,
    now: datetime,
    *,
    limit: int = 100,
    backoff: Callable[[int], timedelta] | None = None,
) -> NoticeReport:
    """Send the notices that are due once: claim, send, remove. Safe in several instances."""
    report = NoticeReport()
    for notice in await requests.due_notices(now, limit=limit):
        claimed = await requests.claim(notice, now)
        if claimed is None:
            continue
        request = await requests.get(claimed.request_id)
        if request is None or (claimed.kind == NoticeKind.APPROVE and not request.is_open):
            await requests.delivered(claimed)  # nothing left to ask
            report.dropped.append(claimed.row_key)
            continue
        try:
            delivery = await send(claimed, request)
        except Exception as exc:  # a sender fault is a failed attempt, never a lost notice
            delivery = Delivery(DeliveryResult.RETRY, error=type(exc).__name__)
        if delivery.result == DeliveryResult.SENT:
            await requests.delivered(claimed)
            report.sent.append(claimed.row_key)
            continue
        if delivery.result == DeliveryResult.PERMANENT:
            await requests.retry_later(
                claimed, now, delivery.error or "permanent failure", final=True
            )
            report.failed.append(claimed.row_key)
            continue
        wait = delivery.retry_after or (backoff or jittered_backoff)(claimed.attempts)
        if await requests.retry_later(claimed, now + wait, delivery.error or "retry"):
            report.retried.append(claimed.row_key)
        else:
            report.failed.append(claimed.row_key)
    return report


__all__ = [
    "REQUEST_PARTITION",
    "Caller",
    "Decided",
    "JoinRequestStore",
    "Notice",
    "NoticeKind",
    "NoticeReport",
    "Submitted",
    "deliver_notices",
    "new_request_id",
]
