"""How to reach people and channels proactively: stored Bot Framework conversation references.

Key design, table ``Conversations``:

* PartitionKey ``person``, RowKey ``safe_key(person id)``: the person's personal-chat reference
  and when it was saved. (A failed delivery is recorded on the case, not here.)
* PartitionKey ``channel``, RowKey board id: the board's business-manager channel, with the team
  id, the channel id and who set it.
* PartitionKey ``tenant``, RowKey ``safe_key(tenant id)``, lower case: where the bot last heard
  from that Microsoft Entra tenant (its ``serviceUrl``, the bot's account and the channel id),
  kept whenever a reference that names its tenant is saved. A 1:1 chat with someone who has not
  talked to the bot yet is started there, in their own tenant: never in another agency's.

A reference is the JSON dict of a botbuilder ``ConversationReference`` (``serialize()`` on the way
in, ``deserialize()`` on the way out, in the bot layer): this module does not import botbuilder. It
is stored whole, spread over as many properties as it needs (``split_text``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from escalation.json_text import read_json
from storage.cases import safe_key
from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    Entity,
    TableStore,
    join_text,
    split_text,
    together,
)

CONVERSATIONS: Final = "Conversations"
PERSON_PARTITION: Final = "person"
CHANNEL_PARTITION: Final = "channel"
TENANT_PARTITION: Final = "tenant"
_KNOWN_ROWS: Final = 10_000  # references remembered by one instance


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChannelRecord:
    """A board's business-manager channel."""

    board_id: str
    reference: dict[str, Any]
    team_id: str
    channel_id: str
    set_by: str
    updated_at: datetime


def validate_reference(reference: object) -> dict[str, Any]:
    """Check a serialized ConversationReference; returns a copy that is plain JSON.

    It needs ``conversation.id`` and an http(s) ``serviceUrl``: without them nothing can be sent.
    """
    if not isinstance(reference, Mapping):
        raise ValueError(f"a conversation reference must be a dict, not {type(reference).__name__}")
    conversation = reference.get("conversation")
    if not isinstance(conversation, Mapping):
        raise ValueError("a conversation reference needs a 'conversation' object")
    conversation_id = conversation.get("id")
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise ValueError("a conversation reference needs a non-empty 'conversation.id'")
    service_url = reference.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.strip():
        raise ValueError("a conversation reference needs a 'serviceUrl'")
    try:
        parts = urlsplit(service_url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"serviceUrl {service_url[:80]!r} is not an http(s) URL")
    try:
        copy: dict[str, Any] = read_json(json.dumps(reference, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a conversation reference must be plain JSON: {exc}") from None
    return copy


def _dumps(reference: dict[str, Any]) -> str:
    return json.dumps(reference, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _signature(reference: Mapping[str, Any]) -> str:
    """What makes two references the same for sending: all but the activity id."""
    return _dumps({k: v for k, v in reference.items() if k != "activityId"})


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _tenant_seen(
    reference: Mapping[str, Any],
) -> tuple[tuple[str, str], str, dict[str, Any]] | None:
    """The tenant row a reference keeps fresh: its key, signature and reference (service URL,
    bot and channel only); None when the reference names no tenant."""
    tenant = reference.get("tenant")
    if not isinstance(tenant, str) or not tenant.strip():
        return None
    seen: dict[str, Any] = {
        key: reference[key] for key in ("serviceUrl", "bot", "channelId") if key in reference
    }
    seen["tenant"] = tenant.strip()
    return (TENANT_PARTITION, safe_key(tenant.strip().lower())), _signature(seen), seen


class ConversationStore:
    """Conversation references for proactive messages, on a `TableStore`."""

    def __init__(
        self,
        store: TableStore,
        *,
        now: Callable[[], datetime] = _utc_now,
        table: str = CONVERSATIONS,
    ) -> None:
        self._store = store
        self._now = now
        self._table = table
        # (partition, row) -> the signature of the reference this instance last wrote or read
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables([self._table])

    # -- people --------------------------------------------------------------------------------

    async def save_person_reference(self, person_id: str, reference: dict[str, Any]) -> None:
        """Store how to reach a person in their personal chat.

        Written only when it differs from what is stored (the activity id aside, which changes
        with every message and which proactive messages do not use): what this instance last
        wrote or read is remembered, and the row is read once to compare when it is not.
        """
        _text("person_id", person_id)
        checked = validate_reference(reference)
        key = (PERSON_PARTITION, safe_key(person_id))
        signature = _signature(checked)
        seen = _tenant_seen(checked)
        # What this instance knows to be stored costs no table call and no task: the same
        # reference comes with every message of a chat.
        work: list[Awaitable[None]] = []
        if self._known.get(key) != signature:
            work.append(self._keep_person(key, signature, person_id, checked))
        if seen is not None and self._known.get(seen[0]) != seen[1]:
            work.append(self._keep_tenant(*seen))
        await together(work)

    async def _keep_person(
        self, key: tuple[str, str], signature: str, person_id: str, checked: dict[str, Any]
    ) -> None:
        if await self._unchanged(key, signature, lambda e: e.get("person_id") == person_id):
            return
        entity: Entity = {
            PARTITION_KEY: key[0],
            ROW_KEY: key[1],
            "person_id": person_id,
            "updated_at": self._now(),
        }
        entity.update(split_text("reference", _dumps(checked)))
        await self._store.upsert(self._table, entity)
        self._remember(key, signature)

    async def _unchanged(
        self, key: tuple[str, str], signature: str, owned: Callable[[Entity], bool]
    ) -> bool:
        """Whether the row holds this reference."""
        if self._known.get(key) == signature:
            return True
        found = await self._store.get(self._table, *key)
        if found is None or not owned(found.entity) or "reference_count" not in found.entity:
            return False
        stored = _signature(read_json(join_text("reference", found.entity)))
        self._remember(key, stored)
        return stored == signature

    def _remember(self, key: tuple[str, str], signature: str) -> None:
        self._known[key] = signature
        self._known.move_to_end(key)
        while len(self._known) > _KNOWN_ROWS:
            self._known.popitem(last=False)

    async def person_reference(self, person_id: str) -> dict[str, Any] | None:
        """The stored reference, or None."""
        entity = await self._person_row(person_id)
        if entity is None or "reference_count" not in entity:
            return None
        reference: dict[str, Any] = read_json(join_text("reference", entity))
        return reference

    async def _person_row(self, person_id: str) -> Entity | None:
        _text("person_id", person_id)
        found = await self._store.get(self._table, PERSON_PARTITION, safe_key(person_id))
        if found is None or found.entity.get("person_id") != person_id:
            return None
        return found.entity

    # -- channels ------------------------------------------------------------------------------

    async def set_channel(
        self,
        board_id: str,
        reference: dict[str, Any],
        *,
        set_by: str,
        team_id: str,
        channel_id: str,
    ) -> ChannelRecord:
        """Make a Teams channel the board's business-manager channel (replacing any before)."""
        record = ChannelRecord(
            board_id=_text("board_id", board_id),
            reference=validate_reference(reference),
            team_id=_text("team_id", team_id),
            channel_id=_text("channel_id", channel_id),
            set_by=_text("set_by", set_by),
            updated_at=self._now(),
        )
        entity: Entity = {
            PARTITION_KEY: CHANNEL_PARTITION,
            ROW_KEY: board_id,
            "board_id": board_id,
            "team_id": record.team_id,
            "channel_id": record.channel_id,
            "set_by": record.set_by,
            "updated_at": record.updated_at,
        }
        entity.update(split_text("reference", _dumps(record.reference)))
        await self._store.upsert(self._table, entity)
        await self._seen_in_tenant(record.reference)
        return record

    async def channel(self, board_id: str) -> ChannelRecord | None:
        _text("board_id", board_id)
        found = await self._store.get(self._table, CHANNEL_PARTITION, board_id)
        if found is None:
            return None
        entity = found.entity
        return ChannelRecord(
            board_id=str(entity["board_id"]),
            reference=read_json(join_text("reference", entity)),
            team_id=str(entity["team_id"]),
            channel_id=str(entity["channel_id"]),
            set_by=str(entity["set_by"]),
            updated_at=_utc(entity["updated_at"]),
        )

    # -- tenants -------------------------------------------------------------------------------

    async def _seen_in_tenant(self, reference: dict[str, Any]) -> None:
        """Remember where the bot last heard from the reference's tenant (the bot layer keeps
        the tenant beside the reference as ``tenant``)."""
        seen = _tenant_seen(reference)
        if seen is not None:
            await self._keep_tenant(*seen)

    async def _keep_tenant(
        self, key: tuple[str, str], signature: str, seen: dict[str, Any]
    ) -> None:
        if await self._unchanged(key, signature, lambda e: "tenant_id" in e):
            return
        entity: Entity = {
            PARTITION_KEY: key[0],
            ROW_KEY: key[1],
            "tenant_id": seen["tenant"],
            "updated_at": self._now(),
        }
        entity.update(split_text("reference", _dumps(seen)))
        await self._store.upsert(self._table, entity)
        self._remember(key, signature)

    async def tenant_reference(self, tenant_id: str) -> dict[str, Any] | None:
        """Where the bot last heard from `tenant_id`: a reference with only ``serviceUrl``,
        ``bot``, ``channelId`` and ``tenant`` (no conversation and nobody's account), or None
        when nobody from that tenant has talked to the bot."""
        _text("tenant_id", tenant_id)
        found = await self._store.get(
            self._table, TENANT_PARTITION, safe_key(tenant_id.strip().lower())
        )
        if found is None or "reference_count" not in found.entity:
            return None
        reference: dict[str, Any] = read_json(join_text("reference", found.entity))
        return reference
