"""Conversation references as botbuilder serializes them, for the conversation store's tests."""

from __future__ import annotations

from typing import Any


def reference(conversation_id: str = "a:1personal", **changes: Any) -> dict[str, Any]:
    """As `ConversationReference.serialize()` gives it for a Teams personal chat."""
    value: dict[str, Any] = {
        "activityId": "1690000000000",
        "user": {"id": "29:1amara", "aadObjectId": "aad-amara"},
        "bot": {"id": "28:bot", "name": "Escalation"},
        "conversation": {
            "id": conversation_id,
            "tenantID": "tenant",
            "conversationType": "personal",
        },
        "channelId": "msteams",
        "locale": "en-GB",
        "serviceUrl": "https://smba.trafficmanager.net/uk/",
    }
    value.update(changes)
    return value
