"""The connector operations the bot sends itself (bot.connector.FastConversations) send what
botbuilder's msrest client sends: the same method, path, body and credentials, and a refusal is
classified as the outbox expects."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationParameters
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from bot.connector import ConnectorError, FastConversations, SharedSession
from bot.sender import classify
from escalation.delivery import DeliveryResult
from testkit.connector import connector

ODD_IDS = ("a:chat-amara", "19:abc@thread.tacv2;messageid=1", "a:zq!mk/1?x#y")


def reply(conversation_id: str) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card({"type": "AdaptiveCard"}))
    activity.text = "Case RB-2026-ABCDEF is open."
    activity.conversation = ConversationAccount(id=conversation_id)
    activity.from_property = ChannelAccount(id="28:bot")
    activity.recipient = ChannelAccount(id="29:amara", aad_object_id="aad-amara")
    return activity


def seen(sent: Any) -> tuple[str, str, dict[str, Any], str | None]:
    return sent.method, sent.path, sent.body, sent.authorization


@pytest.mark.parametrize("conversation_id", ODD_IDS)
async def test_the_fast_operations_send_what_msrest_sends(conversation_id: str) -> None:
    session = SharedSession()
    async with connector() as stand_in:
        client = ConnectorClient(MicrosoftAppCredentials(None, None), base_url=stand_in.url)
        slow = client.conversations
        fast = FastConversations(client, session)
        try:
            answers = []
            for ops in (slow, fast):
                answers.append(await ops.reply_to_activity(conversation_id, "in-7", reply("x")))
                answers.append(await ops.send_to_conversation(conversation_id, reply("y")))
                answers.append(await ops.update_activity(conversation_id, "a-9", reply("z")))
                parameters = ConversationParameters(
                    is_group=False,
                    bot=ChannelAccount(id="28:bot"),
                    members=[ChannelAccount(id="29:noah")],
                    tenant_id="tenant-1",
                    channel_data={"tenant": {"id": "tenant-1"}},
                )
                answers.append(await ops.create_conversation(parameters))
        finally:
            await session.close()
        half = len(stand_in.sent) // 2
        assert [seen(s) for s in stand_in.sent[:half]] == [seen(s) for s in stand_in.sent[half:]]
        assert [type(a).__name__ for a in answers[:4]] == [type(a).__name__ for a in answers[4:]]
        assert all(a is not None and a.id for a in answers)


async def test_a_refusal_is_classified_as_msrest_errors_are() -> None:
    session = SharedSession()
    async with connector() as stand_in:
        stand_in.gone.add("a:gone")
        stand_in.failures["a:busy"] = [(429, {"Retry-After": "3"})]
        client = ConnectorClient(MicrosoftAppCredentials(None, None), base_url=stand_in.url)
        fast = FastConversations(client, session)
        try:
            with pytest.raises(ConnectorError) as gone:
                await fast.send_to_conversation("a:gone", reply("a:gone"))
            with pytest.raises(ConnectorError) as busy:
                await fast.send_to_conversation("a:busy", reply("a:busy"))
        finally:
            await session.close()
    assert classify(gone.value).result == DeliveryResult.PERMANENT
    throttled = classify(busy.value)
    assert throttled.result == DeliveryResult.RETRY
    assert throttled.retry_after is not None and throttled.retry_after.total_seconds() == 3


async def test_a_server_error_is_tried_again_as_msrest_does() -> None:
    session = SharedSession()
    async with connector() as stand_in:
        stand_in.failures["a:flaky"] = [(503, {})]
        client = ConnectorClient(MicrosoftAppCredentials(None, None), base_url=stand_in.url)
        fast = FastConversations(client, session)
        try:
            answer = await fast.send_to_conversation("a:flaky", reply("a:flaky"))
        finally:
            await session.close()
    assert answer is not None and answer.id
    assert [s.conversation_id for s in stand_in.sent] == ["a:flaky"]
