"""Conversation references for proactive messages, against both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from storage.cases import safe_key
from storage.conversations import (
    CHANNEL_PARTITION,
    PERSON_PARTITION,
    ChannelRecord,
    ConversationStore,
)
from storage.tables import TableStore
from testkit.azurite import unique_table_name
from testkit.clocks import FakeClock
from tests.integration.references import reference

WEIRD_ID = "29:1a/b\\c#d?e\x07f"  # every character Azure forbids in a key


@pytest.fixture
def table() -> str:
    return unique_table_name()


@pytest.fixture
async def conversations(store: TableStore, clock: FakeClock, table: str) -> ConversationStore:
    created = ConversationStore(store, now=clock, table=table)
    await created.ensure_tables()
    return created


# --- people -------------------------------------------------------------------------------------


async def test_a_person_reference_round_trips(
    conversations: ConversationStore, store: TableStore, table: str, clock: FakeClock
) -> None:
    await conversations.save_person_reference("amara", reference())

    assert await conversations.person_reference("amara") == reference()
    assert await conversations.person_reference("noah") is None
    found = await store.get(table, PERSON_PARTITION, "amara")
    assert found is not None
    assert (found.entity["person_id"], found.entity["updated_at"]) == ("amara", clock.now)


async def test_saving_again_replaces_the_reference(conversations: ConversationStore) -> None:
    await conversations.save_person_reference("amara", reference("a:1old"))
    await conversations.save_person_reference("amara", reference("a:1new"))

    found = await conversations.person_reference("amara")
    assert found is not None and found["conversation"]["id"] == "a:1new"


async def test_a_person_id_with_forbidden_characters(
    conversations: ConversationStore, store: TableStore, table: str
) -> None:
    await conversations.save_person_reference(WEIRD_ID, reference())

    assert await conversations.person_reference(WEIRD_ID) == reference()
    assert await store.get(table, PERSON_PARTITION, safe_key(WEIRD_ID)) is not None


async def test_ids_escaping_to_one_key_are_not_confused(conversations: ConversationStore) -> None:
    first, second = chr(0x1FBD0), chr(0x1FBD) + "0"  # safe_key gives both the same key
    await conversations.save_person_reference(first, reference())

    assert await conversations.person_reference(second) is None


async def test_a_long_reference_is_spread_over_properties(
    conversations: ConversationStore,
) -> None:
    long = reference(extra={"note": "x" * 70_000})  # more than two 32K-character properties

    await conversations.save_person_reference("amara", long)

    assert await conversations.person_reference("amara") == long


# --- validation ---------------------------------------------------------------------------------


NOT_HTTP = r"is not an http\(s\) URL"
BAD_REFERENCES = [
    pytest.param(["not", "a", "dict"], "must be a dict", id="not-a-dict"),
    pytest.param({"serviceUrl": "https://smba.example/"}, "'conversation'", id="no-conversation"),
    pytest.param(reference(conversation="a:1"), "'conversation'", id="conversation-not-a-dict"),
    pytest.param(reference(conversation={"name": "x"}), "conversation.id", id="no-id"),
    pytest.param(reference(conversation={"id": "  "}), "conversation.id", id="blank-id"),
    pytest.param(reference(conversation={"id": 7}), "conversation.id", id="id-not-text"),
    pytest.param(
        {k: v for k, v in reference().items() if k != "serviceUrl"}, "serviceUrl", id="no-url"
    ),
    pytest.param(reference(serviceUrl=""), "serviceUrl", id="empty-url"),
    pytest.param(reference(serviceUrl="ftp://smba.example/"), NOT_HTTP, id="ftp"),
    pytest.param(reference(serviceUrl="smba.example/uk"), NOT_HTTP, id="no-scheme"),
    pytest.param(reference(serviceUrl="https://"), NOT_HTTP, id="no-host"),
    pytest.param(reference(serviceUrl="http://[::1"), NOT_HTTP, id="malformed"),
    pytest.param(reference(locale={1, 2}), "plain JSON", id="not-json"),
    pytest.param(reference(score=float("nan")), "plain JSON", id="nan"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_REFERENCES)
async def test_an_invalid_person_reference_is_refused(
    conversations: ConversationStore, store: TableStore, table: str, bad: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await conversations.save_person_reference("amara", bad)

    assert await store.query_range(table, None, None) == []


@pytest.mark.parametrize(("bad", "message"), BAD_REFERENCES)
async def test_an_invalid_channel_reference_is_refused(
    conversations: ConversationStore, store: TableStore, table: str, bad: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await conversations.set_channel(
            "redbridge", bad, set_by="amara", team_id="team", channel_id="19:c@thread.tacv2"
        )

    assert await store.query_range(table, None, None) == []


def test_plain_http_is_accepted_for_the_local_playground() -> None:
    from storage.conversations import validate_reference

    local = reference(serviceUrl="http://127.0.0.1:56150")

    assert validate_reference(local) == local


async def test_an_empty_person_id_is_refused(conversations: ConversationStore) -> None:
    with pytest.raises(ValueError, match="person_id"):
        await conversations.save_person_reference("", reference())


# --- channels -----------------------------------------------------------------------------------


async def test_a_board_channel_round_trips(
    conversations: ConversationStore, store: TableStore, table: str, clock: FakeClock
) -> None:
    channel_ref = reference("19:announcements@thread.tacv2")

    saved = await conversations.set_channel(
        "redbridge",
        channel_ref,
        set_by="tobias",
        team_id="team-id",
        channel_id="19:announcements@thread.tacv2",
    )

    expected = ChannelRecord(
        board_id="redbridge",
        reference=channel_ref,
        team_id="team-id",
        channel_id="19:announcements@thread.tacv2",
        set_by="tobias",
        updated_at=clock.now,
    )
    assert saved == expected
    assert await conversations.channel("redbridge") == expected
    assert await conversations.channel("harrow") is None
    assert await store.get(table, CHANNEL_PARTITION, "redbridge") is not None


async def test_setting_a_channel_again_replaces_it(
    conversations: ConversationStore, clock: FakeClock
) -> None:
    await conversations.set_channel(
        "harrow", reference("19:old"), set_by="a", team_id="t1", channel_id="19:old"
    )
    clock.now += timedelta(hours=1)
    await conversations.set_channel(
        "harrow", reference("19:new"), set_by="b", team_id="t2", channel_id="19:new"
    )

    found = await conversations.channel("harrow")
    assert found is not None
    assert (found.channel_id, found.team_id, found.set_by) == ("19:new", "t2", "b")
    assert found.reference["conversation"]["id"] == "19:new"
    assert found.updated_at == clock.now


@pytest.mark.parametrize("missing", ["set_by", "team_id", "channel_id"])
async def test_a_channel_needs_who_set_it_and_where_it_is(
    conversations: ConversationStore, missing: str
) -> None:
    fields = {"set_by": "tobias", "team_id": "team", "channel_id": "19:c"}
    fields[missing] = " "

    with pytest.raises(ValueError, match=missing):
        await conversations.set_channel("redbridge", reference(), **fields)

    assert await conversations.channel("redbridge") is None


async def test_a_board_id_azure_cannot_key_is_refused(conversations: ConversationStore) -> None:
    with pytest.raises(ValueError, match="RowKey"):
        await conversations.set_channel(
            "red/bridge", reference(), set_by="a", team_id="t", channel_id="19:c"
        )
