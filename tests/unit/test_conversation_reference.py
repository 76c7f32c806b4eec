"""The conversation reference the bot stores is botbuilder's own, without its copies."""

from __future__ import annotations

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
)

from bot.wire import reference_json, to_json


def _activity(kind: str, channel: str) -> Activity:
    return Activity(
        type=kind,
        id="1:activity",
        channel_id=channel,
        service_url="https://smba.trafficmanager.net/uk/",
        locale="en-GB",
        from_property=ChannelAccount(id="29:ffion", name="Ffion Hughes", aad_object_id="a1"),
        recipient=ChannelAccount(id="28:bot", name="Escalation"),
        conversation=ConversationAccount(
            id="a:personal", tenant_id="t1", conversation_type="personal"
        ),
        text="help",
    )


@pytest.mark.parametrize("channel", ["msteams", "directline", "webchat", "emulator"])
@pytest.mark.parametrize(
    "kind", [ActivityTypes.message, ActivityTypes.conversation_update, ActivityTypes.invoke]
)
def test_the_reference_is_botbuilders(kind: str, channel: str) -> None:
    activity = _activity(kind, channel)

    ours = reference_json(activity)

    assert ours == to_json(TurnContext.get_conversation_reference(activity))
    # The activity id is kept where botbuilder keeps it: not for a conversation update, nor on
    # Direct Line or Web Chat.
    kept = kind != ActivityTypes.conversation_update and channel not in ("directline", "webchat")
    assert ours.get("activityId") == ("1:activity" if kept else None)
    assert ours["user"]["id"] == "29:ffion" and ours["serviceUrl"].startswith("https://")


def test_an_activity_with_nothing_but_its_type_matches_too() -> None:
    activity = Activity(type=ActivityTypes.message)

    assert reference_json(activity) == to_json(TurnContext.get_conversation_reference(activity))
