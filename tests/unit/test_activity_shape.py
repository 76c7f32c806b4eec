"""The shape check at the HTTP edge: each field botbuilder or the bot reads, with its JSON type,
refused by its path and never by what was sent."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bot.activity_shape import MAX_DEPTH, ShapeError, check_activity, parse_body

TENANT = "11111111-2222-3333-4444-555555555555"
SENT = "<sent text>"


def teams_message(**changes: Any) -> dict[str, Any]:
    """A message as Teams sends it to a bot in a personal chat."""
    body: dict[str, Any] = {
        "type": "message",
        "id": "1:1Xy-abc",
        "timestamp": "2026-12-01T10:00:00.1234567Z",
        "localTimestamp": "2026-12-01T10:00:00.123+00:00",
        "localTimezone": "Europe/London",
        "serviceUrl": "https://smba.trafficmanager.net/uk/",
        "channelId": "msteams",
        "from": {"id": "29:1abc", "name": "Alex Wilber", "aadObjectId": "aad-alex"},
        "recipient": {"id": "28:bot", "name": "Escalation"},
        "conversation": {
            "id": "a:1personal",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [{"type": "clientInfo", "locale": "en-GB", "platform": "Web"}],
        "text": "help",
        "textFormat": "plain",
        "locale": "en-GB",
    }
    for path, value in changes.items():
        put(body, path, value)
    return body


def put(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path ("conversation.isGroup"), or remove it when value is ...; a step that is a
    number indexes an array."""
    *parents, last = path.split(".")
    node: Any = body
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if value is ...:
        del node[last]
    else:
        node[last] = value


def refusal(body: object) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        check_activity(body)
    return caught.value


def test_activities_as_teams_sends_them_pass() -> None:
    check_activity(teams_message())
    check_activity(
        teams_message(
            type="conversationUpdate",
            membersAdded=[{"id": "28:bot"}, {"id": "29:1abc", "aadObjectId": "aad-alex"}],
            text=...,
        )
    )
    check_activity(
        teams_message(
            text="<at>Escalation</at> set channel",
            conversation={
                "id": "19:general@thread.tacv2;messageid=1",
                "conversationType": "channel",
                "isGroup": True,
                "tenantId": TENANT,
            },
            channelData={
                "tenant": {"id": TENANT},
                "team": {"id": "19:team@thread.tacv2", "name": "Board"},
                "channel": {"id": "19:general@thread.tacv2"},
                "settings": {"selectedChannel": {"id": "19:general@thread.tacv2"}},
            },
            entities=[
                {
                    "type": "mention",
                    "mentioned": {"id": "28:bot", "name": "Escalation"},
                    "text": "<at>Escalation</at>",
                }
            ],
        )
    )
    check_activity(
        teams_message(
            type="invoke",
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": "record", "data": {"x": [1]}}},
            text=...,
        )
    )


# The fields the issue names, and the others of the same kinds: (path, value, refused path).
WRONG_TYPES: list[tuple[str, object, str]] = [
    ("from", [], "from"),
    ("from", None, "from"),
    ("from.id", 5, "from"),
    ("recipient", [], "recipient"),
    ("recipient", None, "recipient"),
    ("recipient.name", ["a"], "recipient.name"),
    ("channelId", None, "channelId"),
    ("channelId", 5, "channelId"),
    ("timestamp", 5, "timestamp"),
    ("timestamp", "2026-13-01T00:00:00Z", "timestamp"),
    ("timestamp", "10000-01-01T00:00:00Z", "timestamp"),
    ("timestamp", "yesterday", "timestamp"),
    ("localTimestamp", [], "localTimestamp"),
    ("expiration", "soon", "expiration"),
    ("entities", "x", "entities"),
    ("entities", [{"a": 1}], "entities.0.type"),
    ("entities", [None], "entities.0"),
    ("entities", [{"type": "mention"}], "entities.0.mentioned"),
    (
        "entities",
        [{"type": "mention", "mentioned": {"id": "28:bot"}, "text": 5}],
        "entities.0.text",
    ),
    ("attachments", -1, "attachments"),
    ("attachments", [{"contentType": 5}], "attachments.0.contentType"),
    ("membersAdded", {}, "membersAdded"),
    ("membersAdded", [5], "membersAdded.0"),
    ("membersRemoved", "x", "membersRemoved"),
    ("reactionsAdded", [{"type": []}], "reactionsAdded.0.type"),
    ("suggestedActions", [], "suggestedActions"),
    ("suggestedActions", {"actions": [{"title": 5}]}, "suggestedActions.actions.0.title"),
    ("conversation.isGroup", "x", "conversation.isGroup"),
    ("conversation.tenantId", 5, "conversation.tenantId"),
    ("relatesTo", "x", "relatesTo"),
    ("relatesTo", {"user": []}, "relatesTo.user"),
    ("semanticAction", [], "semanticAction"),
    ("semanticAction", {"entities": {"k": 5}}, "semanticAction.entities.*"),
    ("textHighlights", [{"occurrence": "1"}], "textHighlights.0.occurrence"),
    ("historyDisclosed", "yes", "historyDisclosed"),
    ("text", ["a"], "text"),
    ("text", {"a": 1}, "text"),
    ("listenFor", [5], "listenFor.0"),
    ("channelData", "x", "channelData"),
    ("channelData.tenant", "x", "channelData.tenant"),
    ("channelData.tenant", [1], "channelData.tenant"),
    ("channelData.tenant.id", 5, "channelData.tenant.id"),
    ("channelData.team", "x", "channelData.team"),
    ("channelData.channel", [], "channelData.channel"),
    ("channelData.notification", {"alert": "yes"}, "channelData.notification.alert"),
    ("id", "a b", "id"),
    ("conversation.id", "a\r\nb", "conversation.id"),
    ("conversation.id", "x" * 1025, "conversation.id"),
    ("serviceUrl", "https://host/\u202e", "serviceUrl"),
]


@pytest.mark.parametrize(("path", "value", "field"), WRONG_TYPES, ids=[w[0] for w in WRONG_TYPES])
def test_a_field_of_the_wrong_type_is_refused_by_its_path(
    path: str, value: Any, field: str
) -> None:
    error = refusal(teams_message(**{path: value}))
    expected = field.replace(".0", "[0]")
    assert error.field == expected
    assert expected in str(error)


def test_a_refusal_never_repeats_what_was_sent() -> None:
    for path, value in (("text", [SENT]), ("timestamp", SENT), ("from", SENT)):
        assert SENT not in str(refusal(teams_message(**{path: value})))
    # A key the sender chose is not repeated either, even inside a path.
    assert SENT not in str(refusal(teams_message(semanticAction={"entities": {SENT: 5}})))


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("type", "no type"),
        ("conversation", "no conversation id"),
        ("conversation.id", "no conversation id"),
        ("serviceUrl", "no serviceUrl"),
        ("channelId", "no channelId"),
    ],
)
def test_a_required_field_that_is_missing(path: str, detail: str) -> None:
    assert detail in str(refusal(teams_message(**{path: ...})))
    assert detail in str(refusal(teams_message(**{path: "   "})))


def test_the_tenant_fence() -> None:
    error = refusal(teams_message(**{"conversation.tenantId": "another-tenant"}))
    assert error.field == "conversation.tenantId" and "different tenant" in str(error)
    # Either alone is fine; both the same is fine.
    check_activity(teams_message(**{"conversation.tenantId": ...}))
    check_activity(teams_message(channelData={}))


def test_the_value_of_an_invoke_botbuilder_reads_is_checked() -> None:
    query = teams_message(
        type="invoke",
        name="composeExtension/query",
        value={"commandId": "search", "parameters": [{"name": "q", "value": "x"}]},
    )
    check_activity(query)
    broken = copy.deepcopy(query)
    broken["value"]["parameters"] = "q"
    assert refusal(broken).field == "value.parameters"
    broken["value"] = "q"
    assert refusal(broken).field == "value"
    # A card action's value is the bot's to read: it answers it on the card.
    check_activity(teams_message(type="invoke", name="adaptiveCard/action", value=[1]))


def nested(depth: int) -> bytes:
    return b'{"type": "message", "value": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    assert parse_body(nested(MAX_DEPTH - 2))
    for depth in (MAX_DEPTH, 1_000, 100_000):
        with pytest.raises(ShapeError, match="nests too deeply"):
            parse_body(nested(depth))
    # 2 KB nested 1,000 levels deep: the body from the issue.
    with pytest.raises(ShapeError, match="nests too deeply"):
        parse_body(b'{"a":' * 1000 + b"1" + b"}" * 1000)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"type": "message", "n": NaN}',
        b'{"type": "message", "n": Infinity}',
        b'{"n": ' + b"9" * 5000 + b"}",
        b"\xff\xfe\x00",
    ],
)
def test_bodies_that_are_not_json(raw: bytes) -> None:
    with pytest.raises(ShapeError, match="not valid JSON"):
        parse_body(raw)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(teams_message(text="Zoë\u2019s falls — twice")).encode(),
        json.dumps(teams_message(text="ASC-1234567890123456789")).encode(),
        b'{"n": 12345678901234567890123, "f": 1e400, "z": -0.0, "k": 1, "k": 2}',
        b"\xef\xbb\xbf" + json.dumps(teams_message(text="hi")).encode(),  # with a BOM
        json.dumps(teams_message(text="hi")).encode("utf-16"),
    ],
)
def test_a_body_reads_as_json_reads_it(raw: bytes) -> None:
    """Read by orjson where it reads exactly as json does, by json otherwise: the same value."""
    assert parse_body(raw) == json.loads(raw)


def test_text_with_a_lone_surrogate_is_refused() -> None:
    body = json.dumps(teams_message(text="\ud800 hi")).encode()
    with pytest.raises(ShapeError, match="not valid Unicode"):
        parse_body(body)
    emoji = json.dumps(teams_message(text="\U0001f600")).encode()  # a pair, escaped: fine
    check_activity(parse_body(emoji))
