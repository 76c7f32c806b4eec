"""botbuilder ``Storage`` on a ``TableStore``, so conversation and dialog state survive restarts
and are shared by every instance of the bot.

Items are serialized as botbuilder-azure's ``CosmosDbPartitionedStorage`` does: jsonpickle's
``Pickler().flatten`` without the ``e_tag``, and ``Unpickler().restore`` with the stored ETag put
back, so dialog state objects come back as the same classes (``storage.state_codec`` writes and
reads that format for botbuilder's own classes at a fraction of jsonpickle's cost). Each item
is one entity: the key escaped into a PartitionKey, the original key in a property, the JSON
spread over ``state_N`` properties once it passes Azure's 32K-character limit.

ETags follow botbuilder's rules: none or ``"*"`` overwrites, ``""`` is an error, anything else
must match what is stored. After a successful write the item's ``e_tag`` is set to the new ETag,
so a turn that saves twice does not conflict with itself.

Each row carries ``written_at``, the time of its last write, so that ``remove_idle_state`` can
remove the state of conversations left idle (an abandoned raise holds free text about the risk
to an adult). Both engines hide the store's own Timestamp, so rows written before this property
existed carry no time: the first purge that finds one stamps it, starting its idle period then.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from botbuilder.core import ConversationState, Storage, TurnContext
from botbuilder.core.bot_state import CachedBotState

from escalation.json_text import read_json
from storage.state_codec import flatten, restore
from storage.tables import (
    MAX_KEY_UTF16,
    PARTITION_KEY,
    ROW_KEY,
    ConcurrencyConflict,
    EntityNotFound,
    TableNotFound,
    TableStore,
    join_text,
    split_text,
    utf16_len,
)

log = logging.getLogger("escalation.bot_state")

DEFAULT_TABLE: Final = "botstate"
ROW: Final = "state"
_KEY_PROPERTY: Final = "key"
WRITTEN_AT: Final = "written_at"
# Rows read at a time when looking for idle state: a row may be close to 1 MiB.
_PAGE: Final = 100
STATE_PREFIX: Final = "state"
# '%' is escaped too, so two keys never escape alike; Azure forbids the rest.
_ESCAPED = re.compile(r"[%/\\#?\x00-\x1f\x7f-\x9f]")
_HASHED_PREFIX: Final = "sha256-"


def escape_key(key: str) -> str:
    """A valid PartitionKey for a botbuilder storage key.

    Teams keys such as ``msteams/conversations/19:abc@thread.tacv2`` keep their shape, with the
    forbidden characters percent-encoded; one too long for a key is replaced by its SHA-256.
    """
    escaped = _ESCAPED.sub(lambda m: f"%{ord(m.group()):02X}", key)
    if utf16_len(escaped) > MAX_KEY_UTF16:
        return _HASHED_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return escaped


def _etag_of(item: object) -> str | None:
    etag = item.get("e_tag") if isinstance(item, Mapping) else getattr(item, "e_tag", None)
    return None if etag is None else str(etag)


def _set_etag(item: object, etag: str) -> None:
    if isinstance(item, dict):
        item["e_tag"] = etag
    elif hasattr(item, "e_tag"):
        item.e_tag = etag


def serialize(item: object) -> str:
    """The JSON an item is stored as (without its ``e_tag``)."""
    flat = flatten(item)
    if isinstance(flat, dict):
        flat.pop("e_tag", None)
    # orjson, faster than json (a raise dialog's state: 24 µs to serialize with json, 16 with
    # orjson). It refuses a lone surrogate from user input (and a key that is not a string, or
    # an integer past 64 bits): json writes those, the surrogate as an escape (ensure_ascii),
    # not an unstorable string. orjson would write NaN or an infinity as null, but the dialogs
    # here keep no such number (no number prompt; a found choice's score lies in 0 to 1).
    try:
        return orjson.dumps(flat).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(flat, ensure_ascii=True, separators=(",", ":"))


def _deserialize(text: str, etag: str) -> object:
    flat = read_json(text)
    if isinstance(flat, dict):
        flat["e_tag"] = etag
    return restore(flat)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TableStorage(Storage):  # type: ignore[misc]
    """Bot state in one table of a ``TableStore``; one partition per storage key."""

    def __init__(
        self,
        store: TableStore,
        table: str = DEFAULT_TABLE,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__()
        self._store = store
        self._table = table
        self._now = now
        self._ready = False
        self._ready_lock = asyncio.Lock()

    async def _ensure_table(self) -> None:
        # As botbuilder's BlobStorage does: create on first use, once per instance.
        if self._ready:
            return
        async with self._ready_lock:
            if not self._ready:
                await self._store.ensure_tables([self._table])
                self._ready = True

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        if keys is None:
            raise ValueError("Keys are required when reading")
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        await self._ensure_table()
        found = await asyncio.gather(*(self.read_one(key) for key in keys))
        return {key: item for key, (item, _) in zip(keys, found, strict=True) if item is not None}

    async def read_one(
        self, key: str, reuse: Callable[[str], object | None] | None = None
    ) -> tuple[object | None, str | None]:
        """The item and the JSON it was stored as (None, None when there is none). `reuse`,
        given the row's ETag, may hand back the item that ETag was written (or read) with, so
        that it is not rebuilt from the JSON."""
        await self._ensure_table()
        stored = await self._store.get(self._table, escape_key(key), ROW)
        if stored is None or stored.entity.get(_KEY_PROPERTY) != key:
            return None, None
        text = join_text(STATE_PREFIX, stored.entity)
        kept = reuse(stored.etag) if reuse is not None else None
        return (kept if kept is not None else _deserialize(text, stored.etag)), text

    async def write(self, changes: Mapping[str, object] | None) -> None:
        if changes is None:
            raise ValueError("Changes are required when writing")
        if not changes:
            return
        for key, item in changes.items():
            await self.write_one(key, item)

    async def write_one(self, key: str, item: object, text: str | None = None) -> None:
        """Write one item (`text`: its JSON, when the caller has it already, see serialize);
        sets the item's ``e_tag`` to the new ETag."""
        etag = _etag_of(item)
        if etag == "":
            raise ValueError(f"TableStorage.write(): etag missing for {key!r}")
        await self._ensure_table()
        entity: dict[str, Any] = {
            "PartitionKey": escape_key(key),
            "RowKey": ROW,
            _KEY_PROPERTY: key,
            WRITTEN_AT: self._now(),
            **split_text(STATE_PREFIX, serialize(item) if text is None else text),
        }
        if etag is None or etag == "*":
            new_etag = await self._store.upsert(self._table, entity)
        else:
            try:
                new_etag = await self._store.update(self._table, entity, etag)
            except EntityNotFound as exc:
                raise ConcurrencyConflict(
                    f"bot state {key!r} was deleted after it was read"
                ) from exc
        _set_etag(item, new_etag)

    async def delete(self, keys: Iterable[str] | None) -> None:
        if keys is None:
            raise ValueError("Keys are required when deleting")
        keys = list(keys)
        if not keys:
            return
        await self._ensure_table()
        await asyncio.gather(
            *(self._store.delete(self._table, escape_key(key), ROW) for key in keys)
        )


class _Cached(CachedBotState):  # type: ignore[misc]
    """The turn's state and the JSON it was read (or last written) as: "changed" means the
    state no longer serializes to that JSON. One serialization a turn, where botbuilder's own
    cache flattens the state with jsonpickle twice more to hash it."""

    def __init__(self, state: dict[str, Any] | None, text: str | None) -> None:
        self.state = state if state is not None else {}
        self.text = text  # None: nothing stored yet, so any state is a change
        self.hash = ""
        self.undo: str | None = None  # the JSON before an early write (write_ahead)

    @property
    def is_changed(self) -> bool:
        return self.text is None or serialize(self.state) != self.text


class TableConversationState(ConversationState):  # type: ignore[misc]
    """botbuilder's ConversationState on `TableStorage`, with a cheaper change check and a way
    to write the state a turn will end with beside another write (`write_ahead`)."""

    def __init__(self, storage: TableStorage, *, keep: int = 10_000) -> None:
        super().__init__(storage)
        self._table_storage = storage
        # The state each conversation's last turn here ended with, by its ETag: the next turn
        # takes it rather than rebuild it from the stored JSON, if the row still has that ETag
        # (nobody wrote it since). Taken, never shared: a turn that fails puts nothing back.
        self._kept: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._keep_at_most = keep

    async def load(self, turn_context: TurnContext, force: bool = False) -> None:
        cached = self.get_cached_state(turn_context)
        # Read once a turn, even when it found nothing (botbuilder reads an empty state again).
        if force or not isinstance(cached, _Cached):
            key = self.get_storage_key(turn_context)
            item, text = await self._table_storage.read_one(key, lambda etag: self._take(key, etag))
            state = item if isinstance(item, dict) else None
            turn_context.turn_state[self._context_service_key] = _Cached(state, text)

    async def save_changes(self, turn_context: TurnContext, force: bool = False) -> None:
        cached = self.get_cached_state(turn_context)
        if not isinstance(cached, _Cached):  # clear_state leaves botbuilder's own
            await super().save_changes(turn_context, force)
            return
        text = serialize(cached.state)
        if force or cached.text is None or text != cached.text:
            await self._write(turn_context, cached.state, text)
            cached.text = text
        etag = cached.state.get("e_tag")
        if isinstance(etag, str) and etag:
            self._keep(self.get_storage_key(turn_context), etag, cached.state)

    def _take(self, key: str, etag: str) -> dict[str, Any] | None:
        kept = self._kept.pop(key, None)
        return kept[1] if kept is not None and kept[0] == etag else None

    def _keep(self, key: str, etag: str, state: dict[str, Any]) -> None:
        self._kept[key] = (etag, state)
        self._kept.move_to_end(key)
        while len(self._kept) > self._keep_at_most:
            self._kept.popitem(last=False)

    async def write_ahead(self, turn_context: TurnContext, ending: Mapping[str, object]) -> bool:
        """Write now the state this turn is about to end with: this turn's state with the
        properties of `ending` in place of its own (the dialogs' state once a dialog has
        ended, say), so that the write waits beside another (the case's save) rather than
        after it. The turn's own save then writes nothing if its state came out the same.
        Returns False, having written nothing, when the write fails; `undo` puts the state
        back as it was read should the turn fail after all."""
        cached = self.get_cached_state(turn_context)
        if not isinstance(cached, _Cached):
            return False
        state = {k: v for k, v in cached.state.items() if k != "e_tag"}
        state.update(ending)
        if "e_tag" in cached.state:
            state["e_tag"] = cached.state["e_tag"]
        text = serialize(state)
        try:
            await self._write(turn_context, state, text)
        except Exception:  # the turn's own save tries again, and reports what it finds
            log.warning("bot state could not be written ahead", exc_info=True)
            return False
        cached.state["e_tag"] = state["e_tag"]
        cached.undo = cached.text
        cached.text = text
        return True

    async def undo(self, turn_context: TurnContext) -> None:
        """After a failed turn, put back the state an early write replaced (best effort)."""
        cached = self.get_cached_state(turn_context)
        if not isinstance(cached, _Cached) or cached.undo is None:
            return
        before, cached.undo = cached.undo, None
        try:
            await self._write(turn_context, {"e_tag": cached.state.get("e_tag")}, before)
        except Exception:
            log.warning("bot state written ahead could not be put back", exc_info=True)

    async def _write(self, turn_context: TurnContext, state: dict[str, Any], text: str) -> None:
        key = self.get_storage_key(turn_context)
        await self._table_storage.write_one(key, state, text)


@dataclass(frozen=True)
class IdleStateReport:
    """Counts only: the rows hold what people typed."""

    removed: int = 0  # idle since before the cut-off (or would be, in a dry run)
    stamped: int = 0  # no write time yet: their idle period starts now
    kept: int = 0


async def remove_idle_state(
    store: TableStore,
    table: str,
    *,
    idle_before: datetime,
    now: datetime,
    dry_run: bool = False,
) -> IdleStateReport:
    """Remove the bot state rows last written before ``idle_before``.

    Each removal quotes the ETag it read, so a conversation that wakes up meanwhile keeps its
    state; rows with no ``written_at`` (from before it existed) are stamped with ``now`` instead.
    """
    removed = stamped = kept = 0
    after: str | None = None
    while True:
        try:
            page = await store.query_range(table, after, None, limit=_PAGE)
        except TableNotFound:
            return IdleStateReport()  # the bot has never run on this store
        for row in page:
            entity = row.entity
            written = entity.get(WRITTEN_AT)
            try:
                if isinstance(written, datetime) and written >= idle_before:
                    kept += 1
                elif isinstance(written, datetime):
                    if not dry_run:
                        await store.delete(
                            table, str(entity[PARTITION_KEY]), str(entity[ROW_KEY]), row.etag
                        )
                    removed += 1
                else:
                    if not dry_run:
                        await store.update(table, {**entity, WRITTEN_AT: now}, row.etag)
                    stamped += 1
            except (ConcurrencyConflict, EntityNotFound):
                kept += 1  # written (or removed by the bot) since it was read: not idle
        if len(page) < _PAGE:
            return IdleStateReport(removed, stamped, kept)
        # Keys hold no control characters (escape_key), so nothing sorts between k and k + " ".
        after = str(page[-1].entity[PARTITION_KEY]) + " "
