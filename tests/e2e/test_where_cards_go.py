"""A person's cards go to their own chat with the bot, never to a channel they wrote in last."""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.build import open_storage
from testkit.chat import Chat, card_text, eventually
from testkit.walk import Walk


async def test_a_message_in_a_channel_does_not_move_a_persons_chat(walk: Walk) -> None:
    await walk.in_channel("amara", "help")

    assert walk.storage_settings is not None
    storage = await open_storage(walk.storage_settings)
    try:
        reference = await storage.conversations.person_reference("amara")
    finally:
        await storage.close()
    assert reference is not None
    assert reference["conversation"]["id"] == "a:chat-amara"


@pytest.mark.clause("RB-1.6")
async def test_after_a_child_concern_the_outbox_sends_the_mash_signpost_not_a_case_card(
    chat: Chat,
) -> None:
    for text in (
        "raise",
        "NELFT NHS Foundation Trust",
        "Noah Okafor",
        "ASC-104233",
        "Eligibility criteria and access to services",
        "no",
        "yes",  # a child in the household
        "Community nursing declined a joint visit",
        "Further falls; lives alone",
        "Whether a joint visit is needed",
        "A joint visit within a week",
        "GP letter of 27 November",
        "yesterday",
    ):
        await chat.say("amara", text)
    before = len(chat.connector.sent)
    assert any("is open" in r for r in await chat.say("amara", "yes"))

    def after() -> list[str]:
        return [
            card_text(a["content"])
            for s in chat.connector.sent[before:]
            if s.conversation_id == "a:chat-amara"
            for a in s.body.get("attachments") or []
        ]

    await eventually(lambda: len(after()) >= 2)
    await asyncio.sleep(0.3)  # anything else the outbox had for her has gone too
    case_cards = [t for t in after() if "RB-20" in t]
    signposts = [t for t in after() if "Multi-Agency Safeguarding Hub" in t]
    assert len(case_cards) == 1 and len(signposts) == 1
    assert "RB-20" not in signposts[0]
