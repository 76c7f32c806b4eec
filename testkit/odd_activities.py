"""Odd activities for the fuzz test and the wire tests: Teams-shaped activities with fields of
the wrong type, nulls, deep nesting, huge and strange strings, and bodies that are not JSON at
all.

Deterministic: everything comes from a seeded `random.Random`. Every string it makes holds MARK,
so a test can look for it in the logs; MARK holds characters no id-shaped value the logs keep
(an activity id, a tenant GUID) may hold.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MARK = "zq!mk"
TENANT = "tenant-1"

Path = tuple[str | int, ...]

# Fields of an activity, as Teams and botbuilder name them, where a wrong type is tried.
PATHS: tuple[Path, ...] = (
    *(
        (key,)
        for key in (
            "type",
            "id",
            "timestamp",
            "localTimestamp",
            "localTimezone",
            "serviceUrl",
            "channelId",
            "from",
            "conversation",
            "recipient",
            "textFormat",
            "attachmentLayout",
            "membersAdded",
            "membersRemoved",
            "reactionsAdded",
            "reactionsRemoved",
            "topicName",
            "historyDisclosed",
            "locale",
            "text",
            "speak",
            "inputHint",
            "summary",
            "suggestedActions",
            "attachments",
            "entities",
            "channelData",
            "action",
            "replyToId",
            "label",
            "valueType",
            "value",
            "name",
            "relatesTo",
            "code",
            "expiration",
            "importance",
            "deliveryMode",
            "listenFor",
            "textHighlights",
            "semanticAction",
            "callerId",
        )
    ),
    ("from", "id"),
    ("from", "name"),
    ("from", "aadObjectId"),
    ("from", "role"),
    ("from", "properties"),
    ("recipient", "id"),
    ("recipient", "name"),
    ("conversation", "id"),
    ("conversation", "isGroup"),
    ("conversation", "conversationType"),
    ("conversation", "tenantId"),
    ("conversation", "name"),
    ("channelData", "tenant"),
    ("channelData", "tenant", "id"),
    ("channelData", "team"),
    ("channelData", "team", "id"),
    ("channelData", "channel"),
    ("channelData", "channel", "id"),
    ("channelData", "eventType"),
    ("channelData", "settings"),
    ("channelData", "settings", "selectedChannel"),
    ("channelData", "notification"),
    ("channelData", "notification", "alert"),
    ("channelData", "meeting"),
    ("channelData", "onBehalfOf"),
    ("value", "verb"),
    ("value", "action"),
    ("value", "action", "verb"),
    ("value", "action", "data"),
    ("value", "action", "data", "case_id"),
    ("value", "action", "data", "version"),
    ("value", "action", "data", "record.summary"),
    ("value", "action", "data", "record.participants"),
    ("value", "action", "data", "record.held_date"),
    ("value", "action", "data", "record.outcome"),
    ("value", "commandId"),
    ("value", "parameters"),
    ("value", "data"),
    ("value", "context"),
    ("entities", 0),
    ("entities", 0, "type"),
    ("entities", 0, "mentioned"),
    ("entities", 0, "mentioned", "id"),
    ("entities", 0, "text"),
    ("membersAdded", 0),
    ("membersAdded", 0, "id"),
    ("membersRemoved", 0, "id"),
    ("attachments", 0),
    ("attachments", 0, "contentType"),
    ("attachments", 0, "content"),
    ("suggestedActions", "actions"),
    ("suggestedActions", "to"),
    ("relatesTo", "user"),
    ("relatesTo", "conversation"),
    ("semanticAction", "entities"),
    ("textHighlights", 0, "occurrence"),
    ("reactionsAdded", 0, "type"),
)


@dataclass(frozen=True)
class OpenCase:
    """A case open in the bot's storage, with Noah a party to it, for card actions to act on."""

    id: str = "RB-2026-NOPE00"
    version: int = 1
    held_date: str = "2026-11-30"  # a day a discussion of it may have been held


def templates(service_url: str, case: OpenCase) -> list[dict[str, Any]]:
    """Activities as Teams sends them to this bot, before anything odd is done to them."""

    def base(who: str = "amara", **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "id": "in-1",
            "timestamp": "2026-12-01T10:00:00.1234567Z",
            "localTimestamp": "2026-12-01T10:00:00.000+00:00",
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {"id": f"29:{who}", "aadObjectId": f"aad-{who}", "name": who},
            "recipient": {"id": "28:bot", "name": "Escalation"},
            "conversation": {
                "id": f"a:chat-{who}",
                "conversationType": "personal",
                "tenantId": TENANT,
            },
            "channelData": {"tenant": {"id": TENANT}},
            "entities": [{"type": "clientInfo", "locale": "en-GB", "platform": "Web"}],
            "locale": "en-GB",
        }
        body.update(fields)
        return body

    channel = {
        "id": "19:general@thread.tacv2;messageid=1",
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT,
    }
    teams_channel_data = {
        "tenant": {"id": TENANT},
        "team": {"id": "19:team@thread.tacv2"},
        "channel": {"id": "19:general@thread.tacv2"},
    }
    return [
        base(text="help"),
        base(text="cases"),
        base("stranger", text="raise"),
        base(text="raise"),
        base(value={"verb": "raise"}),
        base(value={"verb": "record", "case_id": case.id, "version": case.version}),
        base(
            "noah",
            type="invoke",
            name="adaptiveCard/action",
            value={
                "action": {
                    "type": "Action.Execute",
                    "verb": "record",
                    "data": {
                        "case_id": case.id,
                        "version": case.version,
                        "record.held_date": case.held_date,
                        "record.held_time": "10:00",
                        "record.method": "phone",
                        "record.participants": "Amara Osei, Noah Okafor",
                        "record.summary": "Talked it through",
                        "record.points_of_difference": "Timing",
                        "record.outcome": "continuing",
                    },
                },
                "trigger": "manual",
            },
        ),
        base(
            "lena",
            text="<at>Escalation</at> set channel",
            conversation=channel,
            channelData=teams_channel_data,
            entities=[
                {
                    "type": "mention",
                    "mentioned": {"id": "28:bot", "name": "Escalation"},
                    "text": "<at>Escalation</at>",
                }
            ],
        ),
        base(
            type="conversationUpdate",
            membersAdded=[{"id": "29:amara"}, {"id": "28:bot"}],
        ),
        base(
            type="conversationUpdate",
            conversation=channel,
            channelData={**teams_channel_data, "eventType": "teamMemberAdded"},
            membersAdded=[{"id": "29:noah", "aadObjectId": "aad-noah"}],
        ),
        base(type="conversationUpdate", membersRemoved=[{"id": "29:amara"}]),
        base(type="messageReaction", reactionsAdded=[{"type": "like"}], replyToId="r-1"),
        base(
            type="invoke",
            name="composeExtension/query",
            value={"commandId": "search", "parameters": [{"name": "q", "value": "x"}]},
        ),
        base(type="invoke", name="task/fetch", value={"data": {}, "context": {"theme": "dark"}}),
        base(type="event", name="application/vnd.microsoft.meetingStart", value={"Id": "m"}),
        base(type="installationUpdate", action="add"),
        base(
            type="messageUpdate",
            text="edited",
            channelData={"tenant": {"id": TENANT}, "eventType": "editMessage"},
        ),
        base(
            type="messageDelete",
            channelData={"tenant": {"id": TENANT}, "eventType": "softDeleteMessage"},
        ),
        base(type="typing"),
        base(type="endOfConversation", code="userCancelled"),
    ]


@dataclass
class Odd:
    """One request to send: a body (text, so it need not be JSON) and its content type."""

    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


class OddActivities:
    def __init__(self, seed: int, service_url: str, case: OpenCase | None = None) -> None:
        self.rng = random.Random(seed)
        self.templates = templates(service_url, case or OpenCase())
        self._deep: dict[str, str] = {}

    # -- values -------------------------------------------------------------------------------

    def text(self) -> str:
        return f"<{MARK}{self.rng.randrange(10**6)}>"

    def deep(self) -> str:
        """A placeholder for a value nested very deep: json.dumps could not write it."""
        depth = self.rng.choice([40, 63, 64, 65, 100, 999, 1000, 5000, 20000])
        open_, close = self.rng.choice([("[", "]"), ('{"a":', "}")])
        key = f"__deep{len(self._deep)}__"
        self._deep[key] = open_ * depth + json.dumps(self.text()) + close * depth
        return key

    def value(self) -> Any:
        rng = self.rng
        makers: list[Callable[[], Any]] = [
            list,
            dict,
            lambda: rng.choice([5, -1, 0, 2**70, -(2**63), 1.5, -0.0, 1e308]),
            lambda: rng.choice([True, False]),
            lambda: None,
            lambda: rng.choice(["", " ", "\t\n"]),
            self.text,
            lambda: self.text() * rng.choice([100, 2_000, 20_000]),
            lambda: [self.text()],
            lambda: {self.text(): self.text()},
            lambda: [{"a": 1}],
            lambda: [None],
            lambda: [[self.text()]],
            lambda: {"id": self.text()},
            lambda: {"id": rng.choice([5, None, [], {}, True])},
            lambda: [{"id": self.text(), "type": self.text(), "name": [self.text()]}],
            lambda: (
                rng.choice(
                    ["2026-13-45T99:00:00Z", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"]
                )
                + self.text()
            ),
            lambda: rng.choice(["2026-12-01", "12:00", "2026-12-01T10:00:00"]),
            lambda: "\ud800" + self.text(),  # a lone surrogate: valid JSON, not valid UTF-8
            lambda: "\x00\r\n" + self.text() + "\u202e",
            lambda: rng.choice(["12", "true", "null", "[]", "{}"]),
            lambda: "http://[::1" + self.text(),
            lambda: "<at>" + self.text() + "(</at>",
            self.deep,
        ]
        return rng.choice(makers)()

    # -- bodies -------------------------------------------------------------------------------

    def set_path(self, body: dict[str, Any], path: Path, value: Any) -> None:
        """Put `value` at `path`, making the objects and arrays on the way as needed."""
        node: Any = body
        for step, following in itertools.pairwise(path):
            child = node[step] if _has(node, step) else None
            if isinstance(following, int) and not isinstance(child, list):
                child = [{}]
            elif isinstance(following, str) and not isinstance(child, dict):
                child = {}
            _put(node, step, child)
            node = child
        _put(node, path[-1], value)

    def existing_path(self, body: dict[str, Any]) -> Path:
        found: list[Path] = []

        def walk(node: Any, path: Path) -> None:
            if path:
                found.append(path)
            if isinstance(node, dict):
                for key, child in node.items():
                    walk(child, (*path, key))
            elif isinstance(node, list):
                for index, child in enumerate(node):
                    walk(child, (*path, index))

        walk(body, ())
        return self.rng.choice(found)

    def mutated(self) -> dict[str, Any]:
        body = copy.deepcopy(self.rng.choice(self.templates))
        for _ in range(self.rng.choice([1, 1, 1, 2, 3])):
            roll = self.rng.random()
            if roll < 0.55:
                self.set_path(body, self.rng.choice(PATHS), self.value())
            elif roll < 0.8:
                self.set_path(body, self.existing_path(body), self.value())
            elif roll < 0.85:  # another tenant, said the same in both places
                tenant = self.rng.choice([self.text(), "00000000-0000-0000-0000-00000000beef"])
                self.set_path(body, ("conversation", "tenantId"), tenant)
                self.set_path(body, ("channelData", "tenant", "id"), tenant)
            elif roll < 0.88:  # replies sent off this machine
                body["serviceUrl"] = f"https://smba.trafficmanager.net/{self.text()}/"
            else:
                path = self.existing_path(body)
                parent: Any = body
                for step in path[:-1]:
                    parent = parent[step]
                if isinstance(parent, dict):
                    parent.pop(path[-1], None)
        return body

    def raw(self) -> Odd:
        rng = self.rng
        whole = json.dumps(self.mutated()).encode()
        self._deep.clear()  # a raw body keeps its placeholders as plain strings
        choices: list[Callable[[], Odd]] = [
            lambda: Odd(whole[: rng.randrange(1, len(whole))]),
            lambda: Odd(b"\xff\xfe" + self.text().encode() + b"\x80"),
            lambda: Odd(b""),
            lambda: Odd(json.dumps(self.value()).encode() if rng.random() < 0.5 else b"NaN"),
            lambda: Odd(b'{"type": "message", "x": NaN, "y": ' + self.text().encode() + b"}"),
            lambda: Odd(b'{"type": "message", "n": ' + b"9" * 5000 + b"}"),
            lambda: Odd(b"\xef\xbb\xbf" + whole),
            lambda: Odd(b"[" * 100_000),
            lambda: Odd(whole.decode().encode("utf-16")),
            lambda: Odd(whole, content_type=rng.choice(["text/plain", "application/x-www-form"])),
        ]
        return rng.choice(choices)()

    def next(self) -> Odd:
        roll = self.rng.random()
        if roll < 0.05:
            return Odd(json.dumps(copy.deepcopy(self.rng.choice(self.templates))).encode())
        if roll < 0.15:
            return self.raw()
        text = json.dumps(self.mutated())
        for key, deep in self._deep.items():
            text = text.replace(json.dumps(key), deep)
        self._deep.clear()
        return Odd(text.encode("utf-8", "surrogatepass"))

    def __iter__(self) -> Iterator[Odd]:
        while True:
            yield self.next()

    # -- tokens -------------------------------------------------------------------------------

    def forged_token(self) -> str:
        """An Authorization header that looks like a Bot Framework token and is not one."""
        rng = self.rng

        def part(value: Any) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        header = rng.choice(
            [{"alg": "RS256", "kid": self.text()}, {"alg": "HS256"}, {"alg": "none"}, [1], 5]
        )
        claims = rng.choice([{"iss": self.text(), "aud": self.text()}, {}, [self.text()], "x"])
        token = rng.choice(
            [
                f"{part(header)}.{part(claims)}.{part(self.text())}",
                f"{part(header)}.{part(claims)}.",
                self.text(),
                "a.b.c.d",
            ]
        )
        return f"Bearer {token}"


def _put(node: Any, step: str | int, value: Any) -> None:
    if isinstance(node, list):
        assert isinstance(step, int)
        while len(node) <= step:
            node.append({})
    node[step] = value


def _has(node: Any, step: str | int) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and step < len(node)
