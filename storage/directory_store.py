"""The people directory on the table store: who works where, in which roles, and their Teams ids.

Key design, table ``Directory``:

* PartitionKey ``person``, RowKey ``safe_key(person id)``: one row per person, the truth. The raw id
  is kept in the ``id`` property (Teams and AAD ids may hold characters Azure forbids in keys) and
  every read checks it, so two ids that escape to the same key can never be confused.
* PartitionKey ``teams``, RowKey ``safe_key(Teams user id or AAD object id)``: an index row naming
  the person (``person_id``). People reach the bot with a Teams id; this maps it to the person.
  Index rows are hints, written *before* the person row: a crash between the two leaves a hint
  that points at a person who does not claim the id (ignored by readers), never a person whose
  Teams id no index row can find. A reader trusts an index row only when the person row it names
  exists and still holds that id.
* PartitionKey ``agency``, RowKey ``safe_key(agency id)``: the Microsoft Entra tenants an agency's
  people sign in from (``tenants``, a JSON list). People act for an agency in Teams only from one
  of them; an agency with none is not on Teams.
* A person row may be ``status`` pending or declined (absent: active), with the roles approval
  would grant (``requested_roles``) and the open request it waits on (``request``, see
  ``storage.join_requests``): such an entry holds no authority (``escalation.joining``).

* PartitionKey ``version``, RowKey ``directory``: a row rewritten once after every write of
  person or agency rows, whether it succeeded or not (``_changing``), so its ETag changes
  whenever the directory does.

The core reads the whole directory as a snapshot (``DirectorySource``), and the bot finds who is
speaking in it (``speaker``); the snapshot is cached for ``cache_seconds`` (10 s) so that a turn
does not read the directory at all, and the app checks it in the background every half of that
(``keep_fresh``), so a turn never waits for it. The check reads the version row alone, and the
whole directory only when that row has changed (a directory of thousands of people took tens of
milliseconds of the event loop to read and build, every 5 s), or once ``FULL_READ_SECONDS`` have
passed since it was last read whole. Writes through this object drop the cache at once; writes
by another process (another instance of the bot, ``escalation directory import``) are seen
within ``cache_seconds``: a role revoked there stops working within that. A write that stopped
between its rows and the version row (the writer's process ended), rows restored from a backup
into a running app, or rows written by a release without the version row, are seen within
``FULL_READ_SECONDS`` (2 minutes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from escalation import parties
from escalation.directory import Agency, Directory, Person
from escalation.json_text import read_json
from escalation.parties import MAX_RESULTS
from escalation.retry import retry_on_conflict
from escalation.strict_yaml import YamlError, load_strict
from storage.cases import safe_key
from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
    StorageError,
    TableStore,
    batches,
    checked_entity,
    validate_key,
)

log = logging.getLogger("escalation.directory")

DIRECTORY: Final = "Directory"
PERSON_PARTITION: Final = "person"
TEAMS_PARTITION: Final = "teams"
AGENCY_PARTITION: Final = "agency"
VERSION_PARTITION: Final = "version"
VERSION_ROW: Final = "directory"
# The longest a snapshot is kept without reading the directory whole, whatever the version row
# says: the bound for a change that never reached the version row.
FULL_READ_SECONDS: Final = 120.0
AGENCY_FIELDS: Final = frozenset({"id", "tenants"})
AGENCY_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # a pack's agency id
FILE_KEYS: Final = ("people", "agencies")

RECORD_FIELDS: Final = frozenset(
    {
        "id",
        "name",
        "agency",
        "roles",
        "board_roles",
        "line_manager",
        "email",
        "job_title",
        "teams_user_id",
        "aad_object_id",
    }
)
_REQUIRED_TEXT: Final = ("id", "name", "agency")
_OPTIONAL_TEXT: Final = ("line_manager", "email", "job_title", "teams_user_id", "aad_object_id")
_ATTEMPTS: Final = 3
# What a write raises when a row it planned on changed, appeared or went since it was read.
_CHANGED: Final = (ConcurrencyConflict, EntityExists, EntityNotFound)


class DirectoryFileError(ValueError):
    """A directory file that cannot be read: names the file and the problem."""


# --- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    """A person row as read: the person, their Teams ids and the row's ETag."""

    person: Person
    teams_user_id: str | None
    aad_object_id: str | None
    etag: str
    request_id: str | None = None  # the open join request a pending entry waits on

    @property
    def teams_ids(self) -> tuple[str, ...]:
        return _ids(self.teams_user_id, self.aad_object_id)


StoredPerson = _Stored  # a person row as read, for the join requests (storage.join_requests)


@dataclass(frozen=True)
class _Plan:
    """One person row to write, with the index rows it needs and the ones it leaves behind."""

    person_id: str
    entity: Entity
    etag: str | None  # None: the row must not exist yet
    teams_ids: tuple[str, ...]
    dropped_ids: tuple[str, ...]


def _ids(*values: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v is not None))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def person_entity(
    person: Person,
    *,
    teams_user_id: str | None,
    aad_object_id: str | None,
    updated_at: datetime,
    request_id: str | None = None,
) -> Entity:
    entity: Entity = {
        PARTITION_KEY: PERSON_PARTITION,
        ROW_KEY: safe_key(person.id),
        "id": person.id,
        "name": person.name,
        "agency": person.agency_id,
        "roles": _json(sorted(person.roles)),
        "board_roles": _json(sorted(f"{board}:{role}" for board, role in person.board_roles)),
        "updated_at": updated_at,
    }
    optional = {
        "line_manager": person.line_manager_id,
        "email": person.email,
        "job_title": person.job_title,
        "teams_user_id": teams_user_id,
        "aad_object_id": aad_object_id,
        "request": request_id,
    }
    entity.update({name: value for name, value in optional.items() if value is not None})
    if not person.active:  # an active entry's row reads as it always has
        entity["status"] = person.status.value
        entity["requested_roles"] = _json(sorted(person.requested_roles))
    return entity


def _stored(entity: Entity, etag: str) -> _Stored:
    try:
        person = Person.from_record(
            {
                "id": entity["id"],
                "name": entity["name"],
                "agency": entity["agency"],
                "roles": read_json(str(entity["roles"])),
                "board_roles": read_json(str(entity["board_roles"])),
                "line_manager": entity.get("line_manager"),
                "email": entity.get("email"),
                # Rows written before job titles existed have none: it stays optional.
                "job_title": entity.get("job_title"),
                "status": entity.get("status"),
                "requested_roles": read_json(str(entity.get("requested_roles") or "[]")),
            }
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(
            f"{DIRECTORY} row {entity.get(ROW_KEY)!r} is not a valid person: {exc!r}"
        ) from None
    teams = entity.get("teams_user_id")
    aad = entity.get("aad_object_id")
    request = entity.get("request")
    return _Stored(
        person,
        teams if isinstance(teams, str) else None,
        aad if isinstance(aad, str) else None,
        etag,
        request if isinstance(request, str) else None,
    )


def agency_entity(agency: Agency, *, updated_at: datetime) -> Entity:
    return {
        PARTITION_KEY: AGENCY_PARTITION,
        ROW_KEY: safe_key(agency.id),
        "id": agency.id,
        "tenants": _json(sorted(agency.tenants)),
        "updated_at": updated_at,
    }


def _agency(entity: Entity) -> Agency:
    try:
        tenants = read_json(str(entity["tenants"]))
        if not isinstance(tenants, list):
            raise TypeError("tenants is not a list")
        return Agency.of(str(entity["id"]), (str(t) for t in tenants))
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(
            f"{DIRECTORY} row {entity.get(ROW_KEY)!r} is not a valid agency: {exc!r}"
        ) from None


def _valid_key(text: str) -> str | None:
    """The row key for an id, or None when no row can have it (too long once escaped)."""
    try:
        return validate_key(ROW_KEY, safe_key(text))
    except ValueError:
        return None


# --- validation ---------------------------------------------------------------------------------


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _person_problems(person: Person) -> list[str]:
    """What makes a person unfit to store (whatever built it)."""
    problems: list[str] = []
    for name, value in (("id", person.id), ("name", person.name), ("agency", person.agency_id)):
        if not _is_text(value):
            problems.append(f"{name} must be a non-empty string")
    if _is_text(person.id) and _valid_key(person.id) is None:
        problems.append("id is too long to be a table key")
    if not all(_is_text(role) for role in person.roles):
        problems.append("roles must be non-empty strings")
    for board, role in sorted(person.board_roles):
        if not _is_text(board) or not _is_text(role) or ":" in board:
            problems.append(f"board role ({board!r}, {role!r}) must be 'board:role'")
    optional: tuple[tuple[str, str | None], ...] = (
        ("line_manager", person.line_manager_id),
        ("email", person.email),
        ("job_title", person.job_title),
    )
    for name, maybe in optional:
        if maybe is not None and not _is_text(maybe):
            problems.append(f"{name} must be a non-empty string or null")
    if person.line_manager_id is not None and person.line_manager_id == person.id:
        problems.append("a person cannot be their own line manager")
    if not all(_is_text(role) for role in person.requested_roles):
        problems.append("requested roles must be non-empty strings")
    if not person.active and (person.roles or person.board_roles):
        problems.append(f"a {person.status.value} entry holds no roles until it is approved")
    if person.active and person.requested_roles:
        problems.append("an active entry has no requested roles")
    return problems


def _teams_id_problems(teams_user_id: str | None, aad_object_id: str | None) -> list[str]:
    problems: list[str] = []
    for name, value in (("teams_user_id", teams_user_id), ("aad_object_id", aad_object_id)):
        if value is None:
            continue
        if not _is_text(value):
            problems.append(f"{name} must be a non-empty string or null")
        elif _valid_key(value) is None:
            problems.append(f"{name} is too long to be a table key")
    return problems


@dataclass(frozen=True)
class _Record:
    index: int
    person: Person
    teams_user_id: str | None
    aad_object_id: str | None


def _parse_record(index: int, record: object) -> tuple[_Record | None, list[str]]:
    """A directory record checked field by field (YAML turns `29:10` or `no` into numbers and
    booleans, and ``Person.from_record`` would read a string of roles as one role per letter)."""
    if not isinstance(record, Mapping):
        return None, [f"must be a mapping, not {type(record).__name__}"]
    problems: list[str] = []
    unknown = sorted(str(key) for key in record if key not in RECORD_FIELDS)
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(repr(k) for k in unknown)} (misspelt?); known: "
            + ", ".join(sorted(RECORD_FIELDS))
        )
    for name in _REQUIRED_TEXT:
        if name not in record or record[name] is None:
            problems.append(f"{name} is required")
        elif not _is_text(record[name]):
            problems.append(f"{name} must be a non-empty string (quote it in YAML)")
    for name in _OPTIONAL_TEXT:
        value = record.get(name)
        if value is not None and not _is_text(value):
            problems.append(f"{name} must be a non-empty string or null (quote it in YAML)")
    for name in ("roles", "board_roles"):
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(_is_text(item) for item in value):
            problems.append(f"{name} must be a list of non-empty strings")
        elif name == "board_roles":
            for item in value:
                board, sep, role = item.partition(":")
                if not sep or not board.strip() or not role.strip():
                    problems.append(f"board role {item!r} must be written 'board:role'")
    if problems:
        return None, problems
    try:
        person = Person.from_record(record)
    except (KeyError, TypeError, ValueError) as exc:
        return None, [str(exc)]
    problems = _person_problems(person)
    teams_user_id = record.get("teams_user_id")
    aad_object_id = record.get("aad_object_id")
    problems += _teams_id_problems(teams_user_id, aad_object_id)
    if problems:
        return None, problems
    return _Record(index, person, teams_user_id, aad_object_id), []


def _parse_agency(record: object) -> tuple[Agency | None, list[str]]:
    """An `agencies:` entry: its id and the Microsoft Entra tenant ids its people sign in from
    (an empty list, or none: the agency is not on Teams)."""
    if not isinstance(record, Mapping):
        return None, [f"must be a mapping, not {type(record).__name__}"]
    problems: list[str] = []
    unknown = sorted(str(key) for key in record if key not in AGENCY_FIELDS)
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(repr(k) for k in unknown)} (misspelt?); known: "
            + ", ".join(sorted(AGENCY_FIELDS))
        )
    agency_id = record.get("id")
    if agency_id is None:
        problems.append("id is required")
    elif not isinstance(agency_id, str) or not AGENCY_ID.fullmatch(agency_id):
        problems.append(
            "id must be an agency id as the policy packs write it (lower-case letters, digits, "
            "- and _; at most 40)"
        )
    tenants = record.get("tenants")
    if tenants is None:
        tenants = []
    if not isinstance(tenants, list) or not all(_is_text(t) for t in tenants):
        problems.append(
            "tenants must be a list of Microsoft Entra tenant ids (quote each one in YAML)"
        )
    elif any(len(t) > 100 or any(ch.isspace() for ch in t.strip()) for t in tenants):
        problems.append("a tenant id is one word (a GUID), at most 100 characters")
    if problems:
        return None, problems
    assert isinstance(agency_id, str) and isinstance(tenants, list)
    return Agency.of(agency_id, tenants), []


def _manager_cycle(start: str, managers: Mapping[str, str | None]) -> list[str] | None:
    """The loop of line managers reached from ``start``, if its chain loops."""
    path: list[str] = []
    seen: dict[str, int] = {}
    current: str | None = start
    while current is not None and current in managers:
        if current in seen:
            return [*path[seen[current] :], current]
        seen[current] = len(path)
        path.append(current)
        current = managers[current]
    return None


# --- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Speakers:
    """Who holds each Teams user id and each object id, as one snapshot read them."""

    by_teams: dict[str, Person]
    by_aad: dict[str, Person]


@dataclass(frozen=True)
class _Snapshot:
    """The directory as last read, and what tells whether it is still the stored one."""

    directory: Directory
    speakers: _Speakers
    checked_at: datetime  # last found current: kept for cache_seconds from this
    read_at: datetime  # last read whole
    # The version row's ETag, read before the rows ("": no such row yet); None when the rows
    # were read without it (a turn's read), so the next check reads them whole again.
    version: str | None


class DirectoryStore:
    """The people directory (`escalation.ports.DirectorySource`) on a `TableStore`."""

    def __init__(
        self,
        store: TableStore,
        *,
        now: Callable[[], datetime],
        cache_seconds: float = 10.0,
        table: str = DIRECTORY,
    ) -> None:
        if isinstance(cache_seconds, bool) or not (
            isinstance(cache_seconds, int | float)
            and math.isfinite(cache_seconds)
            and cache_seconds >= 0
        ):
            raise ValueError(f"cache_seconds must be a finite number >= 0, not {cache_seconds!r}")
        self._store = store
        self._now = now
        self._cache_seconds = float(cache_seconds)
        self._table = table
        self._cache: _Snapshot | None = None
        self._generation = 0  # bumped by every write, so a read that overlapped one is not kept
        self._lock = asyncio.Lock()

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables([self._table])

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._now

    # -- reads ---------------------------------------------------------------------------------

    async def snapshot(self) -> Directory:
        """Everyone, as the core reads them; cached for ``cache_seconds``."""
        return (await self._cached())[0]

    async def speaker(self, teams_user_id: str | None, aad_object_id: str | None) -> Person | None:
        """The entry that holds the object id (or, with none, the Teams user id) as that kind
        of id, whatever its standing, from the cached snapshot: an object id never matches a
        stored Teams user id, nor the other way round."""
        if aad_object_id:
            return (await self._cached())[1].by_aad.get(aad_object_id)
        if teams_user_id:
            return (await self._cached())[1].by_teams.get(teams_user_id)
        return None

    async def refresh(self) -> None:
        """Make sure the snapshot is the stored directory now (the background refresh calls
        this): the version row alone when it is unchanged, else the whole directory. Turns
        meanwhile keep the snapshot they have: none waits for this read."""
        now = self._now()
        cached = self._cache
        generation = self._generation
        # Read before the rows, should they be read: a write landing between the two is then
        # read again at the next check.
        version = await self._version()
        if (
            cached is not None
            and cached.version == version
            and generation == self._generation
            and 0 <= (now - cached.read_at).total_seconds() < FULL_READ_SECONDS
        ):
            if self._cache is cached:
                self._cache = replace(cached, checked_at=now)
            return
        await self._load(now, version)

    async def keep_fresh(self) -> None:
        """Check the snapshot every half of ``cache_seconds`` (after a first `refresh`), so
        that turns find it fresh and never wait for it; runs until cancelled. A failed read is
        tried again at the next tick (meanwhile a turn that finds the snapshot expired reads it
        itself)."""
        interval = max(self._cache_seconds / 2, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except StorageError:
                log.warning("the directory could not be read; will try again")

    async def _cached(self) -> tuple[Directory, _Speakers]:
        cached = self._cache
        if cached is not None and self._fresh(cached, self._now()):
            return cached.directory, cached.speakers  # fresh: no lock, no wait
        async with self._lock:  # one read at a time: callers arriving together share it
            now = self._now()
            if self._cache is not None:
                if self._fresh(self._cache, now):
                    return self._cache.directory, self._cache.speakers
                self._cache = None
            return await self._load(now, None)

    def _fresh(self, snapshot: _Snapshot, now: datetime) -> bool:
        return 0 <= (now - snapshot.checked_at).total_seconds() < self._cache_seconds

    async def _version(self) -> str:
        found = await self._store.get(self._table, VERSION_PARTITION, VERSION_ROW)
        return "" if found is None else found.etag

    async def _load(self, now: datetime, version: str | None) -> tuple[Directory, _Speakers]:
        """Read the whole directory: `version` is the version row's ETag as read just before
        (the background check), or None for a turn's read, which reads the rows alone in one
        round trip and leaves the next check to read them whole again."""
        generation = self._generation
        rows, agencies = await asyncio.gather(
            self._store.query_partition(self._table, PERSON_PARTITION),
            self._store.query_partition(self._table, AGENCY_PARTITION),
        )
        stored = [_stored(r.entity, r.etag) for r in rows]
        directory = Directory.of((s.person for s in stored), (_agency(r.entity) for r in agencies))
        speakers = _Speakers(
            by_teams={s.teams_user_id: s.person for s in stored if s.teams_user_id},
            by_aad={s.aad_object_id: s.person for s in stored if s.aad_object_id},
        )
        if generation == self._generation and self._cache_seconds > 0:
            self._cache = _Snapshot(directory, speakers, now, now, version)
        return directory, speakers

    def invalidate(self) -> None:
        """Forget the cached snapshot (done by every write made through this object)."""
        self._generation += 1
        self._cache = None

    async def search(
        self,
        query: str,
        *,
        board_id: str,
        agency_id: str,
        raiser_id: str,
        skip: int = 0,
        top: int = MAX_RESULTS,
    ) -> list[Person]:
        """The people at an agency the raiser may name as the other professional
        (`escalation.parties.candidates`) whose name, job title or email match the query; every
        one of them, by name, for an empty query. At most `MAX_RESULTS` from `skip` on."""
        people = parties.candidates(
            await self.snapshot(), board_id=board_id, agency_id=agency_id, raiser_id=raiser_id
        )
        found = parties.search(people, query) if query.strip() else people
        start = max(0, skip)
        return found[start : start + max(0, min(top, MAX_RESULTS))]

    async def person(self, person_id: str) -> Person | None:
        found = await self._read(person_id)
        return None if found is None else found.person

    async def entry(self, person_id: str) -> StoredPerson | None:
        """The person row as stored: the person, their Teams ids, the request a pending entry
        waits on, and the row's ETag (for `write_entry`)."""
        return await self._read(person_id)

    async def agencies(self) -> list[Agency]:
        """Every agency the directory registers, by id."""
        rows = await self._store.query_partition(self._table, AGENCY_PARTITION)
        return sorted((_agency(r.entity) for r in rows), key=lambda a: a.id)

    async def teams_ids(self, person_id: str) -> tuple[str | None, str | None] | None:
        """The person's (Teams user id, AAD object id), or None when there is no such person."""
        found = await self._read(person_id)
        return None if found is None else (found.teams_user_id, found.aad_object_id)

    async def find_by_teams_id(self, teams_id: str) -> Person | None:
        """The person who reaches the bot with this Teams user id (``from.id``) or AAD object id."""
        holder = await self._holder(teams_id)
        return None if holder is None else holder.person

    async def _read(self, person_id: str) -> _Stored | None:
        key = _valid_key(person_id) if _is_text(person_id) else None
        if key is None:
            return None
        found = await self._store.get(self._table, PERSON_PARTITION, key)
        if found is None or found.entity.get("id") != person_id:
            return None  # absent, or another id that escapes to the same key
        return _stored(found.entity, found.etag)

    async def _holder(self, teams_id: str) -> _Stored | None:
        """The person an index row names, if that person exists and still holds the id."""
        key = _valid_key(teams_id) if _is_text(teams_id) else None
        if key is None:
            return None
        hint = await self._store.get(self._table, TEAMS_PARTITION, key)
        if hint is None or hint.entity.get("teams_id") != teams_id:
            return None
        found = await self._read(str(hint.entity.get("person_id", "")))
        if found is None or teams_id not in found.teams_ids:
            return None  # a stale hint: the person left, or their Teams id changed
        return found

    # -- writes --------------------------------------------------------------------------------

    async def upsert_person(
        self,
        person: Person,
        *,
        teams_user_id: str | None = None,
        aad_object_id: str | None = None,
    ) -> None:
        """Add or replace a person. A Teams id left as None keeps the one stored (a directory
        update must not cut someone off from the bot); a new one replaces it. Raises ValueError
        for an invalid person, or a Teams id that another person holds."""
        problems = _person_problems(person) + _teams_id_problems(teams_user_id, aad_object_id)
        if problems:
            raise ValueError(f"person {person.id!r}: " + "; ".join(problems))

        async def attempt(_: int) -> None:
            existing = await self._existing(person.id)
            teams = teams_user_id if teams_user_id is not None else _held(existing, "teams")
            aad = aad_object_id if aad_object_id is not None else _held(existing, "aad")
            for teams_id in _ids(teams, aad):
                other = await self._holder(teams_id)
                if other is not None and other.person.id != person.id:
                    raise ValueError(
                        f"person {person.id!r}: Teams id {teams_id!r} already belongs to "
                        f"{other.person.id!r}"
                    )
            async with self._changing():
                await self._write([self._plan(person, teams, aad, existing)])

        # Someone else changed this person meanwhile: read again.
        await retry_on_conflict(
            attempt,
            attempts=_ATTEMPTS,
            conflicts=_CHANGED,
            gave_up=lambda: ConcurrencyConflict(
                f"person {person.id!r} kept changing; nothing was written"
            ),
        )

    async def write_entry(
        self,
        person: Person,
        *,
        teams_user_id: str | None,
        aad_object_id: str | None,
        request_id: str | None,
        etag: str | None,
    ) -> None:
        """Write a person row only if it is still the one read (``etag``; None: there must be no
        row yet), with exactly these Teams ids and this request link. Raises ValueError for an
        invalid person or a Teams id another person holds, and ConcurrencyConflict (or
        EntityExists) when the row changed since it was read: read it again and decide again.
        """
        problems = _person_problems(person) + _teams_id_problems(teams_user_id, aad_object_id)
        if problems:
            raise ValueError(f"person {person.id!r}: " + "; ".join(problems))
        existing = await self._existing(person.id)
        if (existing.etag if existing is not None else None) != etag:
            raise ConcurrencyConflict(f"person {person.id!r} changed since it was read")
        for teams_id in _ids(teams_user_id, aad_object_id):
            other = await self._holder(teams_id)
            if other is not None and other.person.id != person.id:
                raise ValueError(
                    f"person {person.id!r}: Teams id {teams_id!r} already belongs to "
                    f"{other.person.id!r}"
                )
        plan = self._plan(person, teams_user_id, aad_object_id, existing, request_id=request_id)
        try:
            async with self._changing():
                await self._write([plan])
        except EntityNotFound:
            raise ConcurrencyConflict(f"person {person.id!r} was removed meanwhile") from None

    async def import_records(
        self,
        records: Sequence[Mapping[str, Any]],
        agencies: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """Add or replace the people of ``records`` (directory-file records), and the tenants of
        the ``agencies`` given; returns how many people.

        Every record is checked first, and against the people already stored; any problem refuses
        the whole import with a ValueError naming each bad record as ``records[i]`` or
        ``agencies[i]``, and nothing is written. People and agencies not in the import are left
        as they are; an agency in it has its tenants replaced (``tenants: []`` takes it off
        Teams). A record without a Teams id keeps the one stored. An imported person is active,
        whatever they asked for in Teams: the board's directory grants authority. Rows are
        written in transactions of up to 100, so a storage failure part way through a larger
        import leaves some batches written: run it again.
        """
        for name, given in (("records", records), ("agencies", agencies)):
            if isinstance(given, str | bytes) or not isinstance(given, Sequence):
                raise ValueError(f"{name} must be a list of mappings")
        registered, agency_problems = _plan_agencies(agencies)

        async def attempt(_: int) -> int:
            rows = await self._store.query_partition(self._table, PERSON_PARTITION)
            stored = {s.person.id: s for s in (_stored(r.entity, r.etag) for r in rows)}
            plans = self._plan_import(records, stored, also=agency_problems)
            if registered or plans:
                async with self._changing():  # one version row for people and agencies both
                    await self._put_agencies(registered)
                    await self._write(plans)
            return len(plans)

        # The directory changed while we checked it: check again.
        return await retry_on_conflict(
            attempt,
            attempts=_ATTEMPTS,
            conflicts=_CHANGED,
            gave_up=lambda: ConcurrencyConflict(
                "the directory kept changing during the import; run it again"
            ),
        )

    # -- planning and writing ------------------------------------------------------------------

    async def _existing(self, person_id: str) -> _Stored | None:
        """The stored row for a person id; ValueError if another id owns the same key."""
        found = await self._store.get(self._table, PERSON_PARTITION, safe_key(person_id))
        if found is None:
            return None
        if found.entity.get("id") != person_id:
            raise ValueError(
                f"person {person_id!r}: its table key {safe_key(person_id)!r} is already used by "
                f"{found.entity.get('id')!r}"
            )
        return _stored(found.entity, found.etag)

    def _plan(
        self,
        person: Person,
        teams_user_id: str | None,
        aad_object_id: str | None,
        existing: _Stored | None,
        *,
        request_id: str | None = None,
    ) -> _Plan:
        entity = person_entity(
            person,
            teams_user_id=teams_user_id,
            aad_object_id=aad_object_id,
            updated_at=self._now(),
            request_id=request_id,
        )
        checked_entity(entity)  # refuse an oversized row before anything is written
        teams_ids = _ids(teams_user_id, aad_object_id)
        dropped = (
            () if existing is None else tuple(i for i in existing.teams_ids if i not in teams_ids)
        )
        return _Plan(
            person.id, entity, None if existing is None else existing.etag, teams_ids, dropped
        )

    def _plan_import(
        self,
        records: Sequence[Mapping[str, Any]],
        stored: Mapping[str, _Stored],
        *,
        also: Sequence[str] = (),
    ) -> list[_Plan]:
        problems: list[str] = list(also)

        def problem(index: int, person_id: object, message: str) -> None:
            who = f" (id {person_id!r})" if isinstance(person_id, str) else ""
            problems.append(f"records[{index}]{who}: {message}")

        parsed: list[_Record] = []
        first_index: dict[str, int] = {}
        keys: dict[str, str] = {safe_key(pid): pid for pid in stored}
        mentioned: set[str] = set(stored)
        for index, record in enumerate(records):
            item, found = _parse_record(index, record)
            raw_id = record.get("id") if isinstance(record, Mapping) else None
            if isinstance(raw_id, str):
                mentioned.add(raw_id)
            for message in found:
                problem(index, raw_id, message)
            if item is None:
                continue
            pid = item.person.id
            if pid in first_index:
                problem(index, pid, f"the id is also used by records[{first_index[pid]}]")
                continue
            owner = keys.get(safe_key(pid))
            if owner is not None and owner != pid:
                problem(index, pid, f"the id's table key is already used by {owner!r}")
                continue
            first_index[pid] = index
            keys[safe_key(pid)] = pid
            parsed.append(item)

        # Teams ids: a record without one keeps the stored one; no id may name two people.
        effective: dict[str, tuple[str | None, str | None]] = {}
        for item in parsed:
            before = stored.get(item.person.id)
            teams = item.teams_user_id
            aad = item.aad_object_id
            teams = teams if teams is not None else _held(before, "teams")
            aad = aad if aad is not None else _held(before, "aad")
            effective[item.person.id] = (teams, aad)
        claimed: dict[str, str] = {}
        for pid, s in stored.items():
            if pid not in effective:
                claimed.update({teams_id: f"{pid!r} (already stored)" for teams_id in s.teams_ids})
        for item in parsed:
            for teams_id in _ids(*effective[item.person.id]):
                if teams_id in claimed:
                    problem(
                        item.index,
                        item.person.id,
                        f"Teams id {teams_id!r} is also held by {claimed[teams_id]}",
                    )
                else:
                    claimed[teams_id] = f"records[{item.index}]"

        # Line managers: someone in this import or already stored; never oneself; no loops.
        managers: dict[str, str | None] = {
            pid: s.person.line_manager_id for pid, s in stored.items()
        }
        managers.update({item.person.id: item.person.line_manager_id for item in parsed})
        looped: set[str] = set()
        for item in parsed:
            manager = item.person.line_manager_id
            if manager is None or manager == item.person.id:
                continue  # self-management was reported with the record
            if manager not in mentioned:
                problem(
                    item.index,
                    item.person.id,
                    f"line_manager {manager!r} is nobody in this import or the directory",
                )
                continue
            cycle = _manager_cycle(item.person.id, managers)
            if cycle is not None and item.person.id in cycle and item.person.id not in looped:
                looped.update(cycle)
                problem(
                    item.index,
                    item.person.id,
                    "line managers form a loop: " + " -> ".join(repr(p) for p in cycle),
                )

        plans: list[_Plan] = []
        for item in parsed:
            teams, aad = effective[item.person.id]
            try:
                plans.append(self._plan(item.person, teams, aad, stored.get(item.person.id)))
            except ValueError as exc:
                problem(item.index, item.person.id, str(exc))
        if problems:
            count = len(problems)
            raise ValueError(
                f"the directory import was refused ({count} problem{'s' * (count != 1)}); "
                "nothing was changed:\n" + "\n".join(problems)
            )
        return plans

    async def _write(self, plans: Sequence[_Plan]) -> None:
        """Index rows, then person rows (each batch all or nothing), then the index rows again
        and the clean-up of ids people no longer hold.

        Writing the index rows a second time, after the person rows, undoes a concurrent
        clean-up (of a change of Teams id) that read the person row just before
        ours landed and deleted a hint we need. Called inside `_changing`.
        """
        if not plans:
            return
        await self._put_hints(plans)
        for batch in batches(plans):
            ops = [
                Op.insert(p.entity) if p.etag is None else Op.update(p.entity, p.etag)
                for p in batch
            ]
            await self._store.transact(self._table, ops)
        await self._put_hints(plans)
        for plan in plans:
            if plan.dropped_ids:
                await self._drop_hints(plan.person_id, plan.dropped_ids)

    async def _put_agencies(self, agencies: Sequence[Agency]) -> None:
        """The agencies' rows, in transactions of up to 100. Called inside `_changing`."""
        now = self._now()
        for batch in batches(agencies):
            await self._store.transact(
                self._table, [Op.upsert(agency_entity(a, updated_at=now)) for a in batch]
            )

    @asynccontextmanager
    async def _changing(self) -> AsyncIterator[None]:
        """Around a write of person or agency rows: the cached snapshot is dropped before and
        after, and the version row rewritten once, after whatever landed, whether the write
        succeeded or not.

        When the write itself failed, that failure is the one raised: a failure to rewrite the
        version row as well is logged, and the next whole read (`FULL_READ_SECONDS`) covers
        what the row missed.
        """
        self.invalidate()
        try:
            yield
        except BaseException:
            self.invalidate()
            try:
                await self._mark_changed()
            except StorageError as exc:
                log.warning(
                    "directory: after a failed write, its version row was not rewritten either "
                    "(%s); other instances read what landed within %d s",
                    type(exc).__name__,
                    FULL_READ_SECONDS,
                )
            raise
        self.invalidate()
        await self._mark_changed()

    async def _mark_changed(self) -> None:
        """Rewrite the version row, after the rows it stands for: every process's next check
        reads the directory whole (see the module's docstring)."""
        row = {PARTITION_KEY: VERSION_PARTITION, ROW_KEY: VERSION_ROW, "changed_at": self._now()}
        await self._store.upsert(self._table, row)

    async def _put_hints(self, plans: Iterable[_Plan]) -> None:
        hints = [
            {
                PARTITION_KEY: TEAMS_PARTITION,
                ROW_KEY: safe_key(teams_id),
                "teams_id": teams_id,
                "person_id": plan.person_id,
            }
            for plan in plans
            for teams_id in plan.teams_ids
        ]
        for batch in batches(hints):
            await self._store.transact(self._table, [Op.upsert(h) for h in batch])

    async def _drop_hints(self, person_id: str, teams_ids: Iterable[str]) -> None:
        """Delete index rows that name ``person_id`` for ids the person no longer holds.

        Stale rows are harmless to readers, but a Teams id is personal data: it should not outlive
        the person's entry. A row rewritten since it was read (its ETag changed) is left alone.
        """
        for teams_id in teams_ids:
            hint = await self._store.get(self._table, TEAMS_PARTITION, safe_key(teams_id))
            if hint is None or hint.entity.get("person_id") != person_id:
                continue
            current = await self._read(person_id)
            if current is not None and teams_id in current.teams_ids:
                continue
            try:
                await self._store.delete(
                    self._table, TEAMS_PARTITION, safe_key(teams_id), hint.etag
                )
            except ConcurrencyConflict:
                continue


def _plan_agencies(records: Sequence[Mapping[str, Any]]) -> tuple[list[Agency], list[str]]:
    """The agencies of an import, each checked; the problems name them as ``agencies[i]``."""
    agencies: list[Agency] = []
    problems: list[str] = []
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        agency, found = _parse_agency(record)
        raw_id = record.get("id") if isinstance(record, Mapping) else None
        who = f" (id {raw_id!r})" if isinstance(raw_id, str) else ""
        problems += [f"agencies[{index}]{who}: {message}" for message in found]
        if agency is None:
            continue
        if agency.id in first:
            problems.append(f"agencies[{index}]{who}: also listed as agencies[{first[agency.id]}]")
            continue
        first[agency.id] = index
        agencies.append(agency)
    return agencies, problems


def _held(stored: _Stored | None, which: str) -> str | None:
    if stored is None:
        return None
    return stored.teams_user_id if which == "teams" else stored.aad_object_id


# --- the directory file -------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryFile:
    """A directory file's records, ready for ``import_records(file.people, file.agencies)``."""

    people: list[dict[str, Any]]
    agencies: list[dict[str, Any]]


def load_directory_file(path: Path | str) -> DirectoryFile:
    """The records of a directory file ``{agencies: [...], people: [...]}`` (either may be left
    out): each agency with the Microsoft Entra tenants its people sign in from, each person
    with their agency, roles, line manager and Teams ids.

    Checks the file's shape only; ``import_records`` checks each record. Raises
    ``DirectoryFileError`` (a ValueError) naming the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DirectoryFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot be read: {exc}") from None
    try:
        data = load_strict(text)
    except YamlError as exc:
        where = f" {exc.where}:" if exc.where else ""
        raise DirectoryFileError(f"{path}:{where} {exc.problem}") from None
    if not isinstance(data, dict) or not data or not set(data) <= set(FILE_KEYS):
        raise DirectoryFileError(
            f"{path}: a directory file is a mapping with the keys 'agencies' (each agency's "
            "Teams tenants) and 'people', each holding a list"
        )
    found: dict[str, list[dict[str, Any]]] = {}
    for key in FILE_KEYS:
        items = data.get(key, [])
        if not isinstance(items, list):
            raise DirectoryFileError(f"{path}: '{key}' must be a list, not {type(items).__name__}")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise DirectoryFileError(
                    f"{path}: {key}[{index}] must be a mapping, not {type(item).__name__}"
                )
        found[key] = [dict(item) for item in items]
    return DirectoryFile(people=found["people"], agencies=found["agencies"])


__all__ = [
    "AGENCY_PARTITION",
    "DIRECTORY",
    "PERSON_PARTITION",
    "TEAMS_PARTITION",
    "DirectoryFile",
    "DirectoryFileError",
    "DirectoryStore",
    "StoredPerson",
    "load_directory_file",
    "person_entity",
]
