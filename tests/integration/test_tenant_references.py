"""Where the bot last heard from each Microsoft Entra tenant (storage.conversations), against both
engines: a 1:1 chat with someone new is started in their own tenant, on a service URL learned
there, and that row holds nothing of anyone's conversation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from storage.conversations import TENANT_PARTITION, ConversationStore
from storage.tables import TableStore
from testkit.azurite import unique_table_name
from testkit.clocks import FakeClock
from testkit.round_trips import CallLog
from tests.integration.references import reference

COUNCIL = "6F1C2A77-0C0E-4A51-9D84-1A2B3C4D5E01"
NHS = "b2d4e6f8-1111-4c2d-8e9f-0a1b2c3d4e02"


@pytest.fixture
async def conversations(store: TableStore) -> ConversationStore:
    created = ConversationStore(
        store, now=FakeClock(datetime(2026, 12, 1, tzinfo=UTC)), table=unique_table_name()
    )
    await created.ensure_tables()
    return created


async def test_a_reference_with_its_tenant_teaches_where_that_tenant_is(
    conversations: ConversationStore,
) -> None:
    council = reference("a:1amara", tenant=COUNCIL)
    nhs = reference("a:1nadia", tenant=NHS, serviceUrl="https://smba.trafficmanager.net/emea/")
    await conversations.save_person_reference("amara", council)
    await conversations.save_person_reference("nadia", nhs)

    seen = await conversations.tenant_reference(NHS)
    assert seen == {
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "bot": {"id": "28:bot", "name": "Escalation"},
        "channelId": "msteams",
        "tenant": NHS,
    }
    # A tenant id as written in any case finds the same row.
    council_seen = await conversations.tenant_reference(COUNCIL.lower())
    assert council_seen is not None and council_seen["serviceUrl"] == council["serviceUrl"]
    assert await conversations.tenant_reference("c0ffee00-0000-4000-8000-000000000000") is None


async def test_the_tenant_row_names_no_conversation_and_no_person(
    conversations: ConversationStore, store: TableStore
) -> None:
    await conversations.save_person_reference("nadia", reference("a:1nadia", tenant=NHS))
    rows = await store.query_partition(conversations._table, TENANT_PARTITION)
    [row] = rows
    text = json.dumps(row.entity, default=str)
    assert "a:1nadia" not in text and "29:1amara" not in text and "nadia" not in text


async def test_the_latest_reference_from_a_tenant_wins(conversations: ConversationStore) -> None:
    await conversations.save_person_reference(
        "nadia", reference("a:1nadia", tenant=NHS, serviceUrl="https://old.example/")
    )
    await conversations.save_person_reference(
        "noah", reference("a:1noah", tenant=NHS, serviceUrl="https://new.example/")
    )
    seen = await conversations.tenant_reference(NHS)
    assert seen is not None and seen["serviceUrl"] == "https://new.example/"


async def test_a_reference_without_a_tenant_teaches_nothing(
    conversations: ConversationStore,
) -> None:
    await conversations.save_person_reference("amara", reference("a:1amara"))
    assert await conversations.tenant_reference("tenant") is None


async def test_a_reference_known_to_be_stored_costs_nothing_to_keep(store: TableStore) -> None:
    """A chat's every message keeps the person's reference: once this instance has written it
    (and its tenant's), the same reference again has nothing to wait for and calls no table;
    a new service URL, a new chat or a new tenant has."""
    calls = CallLog(store)
    conversations = ConversationStore(calls, table=unique_table_name())
    await conversations.ensure_tables()
    first = reference("a:1nadia", tenant=NHS)
    await conversations.save_person_reference("nadia", first)
    made = len(calls.calls)
    assert made > 0

    # The activity id changes with every message, and is not what proactive messages use.
    again = reference("a:1nadia", tenant=NHS, activityId="1690000000999")
    await conversations.save_person_reference("nadia", again)
    assert len(calls.calls) == made

    moved = reference("a:1nadia", tenant=NHS, serviceUrl="https://smba.trafficmanager.net/emea/")
    for changed, person in [
        (moved, "nadia"),
        (reference("a:1other", tenant=NHS), "nadia"),
        (reference("a:1nadia", tenant=COUNCIL), "nadia"),
        (first, "noah"),
    ]:
        before = len(calls.calls)
        await conversations.save_person_reference(person, changed)
        assert len(calls.calls) > before
    assert await conversations.tenant_reference(NHS) == {
        "serviceUrl": "https://smba.trafficmanager.net/uk/",
        "bot": {"id": "28:bot", "name": "Escalation"},
        "channelId": "msteams",
        "tenant": NHS,
    }
    found = await conversations.person_reference("noah")
    assert found is not None and found["conversation"]["id"] == "a:1nadia"


async def test_a_bad_reference_is_refused_before_any_table_is_called(store: TableStore) -> None:
    calls = CallLog(store)
    conversations = ConversationStore(calls, table=unique_table_name())
    with pytest.raises(ValueError, match="serviceUrl"):
        await conversations.save_person_reference("nadia", reference(serviceUrl="ftp://x/"))
    with pytest.raises(ValueError, match="person_id"):
        await conversations.save_person_reference(" ", reference())
    assert calls.calls == []
