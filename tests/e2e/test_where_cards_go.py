"""A person's cards go to their own chat with the bot, never to a channel they wrote in last."""

from __future__ import annotations

from storage.settings import open_storage
from tests.e2e.test_full_cases import Walk, walk  # noqa: F401 - the fixture


async def test_a_message_in_a_channel_does_not_move_a_persons_chat(walk: Walk) -> None:  # noqa: F811
    await walk.in_channel("amara", "help")

    assert walk.storage_settings is not None
    storage = await open_storage(walk.storage_settings)
    try:
        reference = await storage.conversations.person_reference("amara")
    finally:
        await storage.close()
    assert reference is not None
    assert reference["conversation"]["id"] == "a:chat-amara"
