"""People chatting to the app over HTTP, as Teams would call it: the app on 127.0.0.1 with a
stand-in Bot Connector, the four people of a Redbridge disagreement, and the raise dialog's
answers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from escalation.case import Case, fold
from storage.settings import StorageSettings
from testkit.clocks import RunningClock
from testkit.connector import Connector, connector, serve
from testkit.people import agencies_for

TENANT = "tenant-1"
PEOPLE = [
    {
        "id": "amara",
        "name": "Amara Osei",
        "agency": "redbridge-asc",
        "roles": ["practitioner"],
        "line_manager": "lena",
        "teams_user_id": "29:amara",
        "aad_object_id": "aad-amara",
    },
    {
        "id": "lena",
        "name": "Lena Price",
        "agency": "redbridge-asc",
        "roles": ["line_manager"],
        "teams_user_id": "29:lena",
        "aad_object_id": "aad-lena",
    },
    {
        "id": "noah",
        "name": "Noah Okafor",
        "agency": "nelft",
        "roles": ["practitioner"],
        "line_manager": "nadia",
        "teams_user_id": "29:noah",
        "aad_object_id": "aad-noah",
    },
    {
        "id": "nadia",
        "name": "Nadia Khan",
        "agency": "nelft",
        "roles": ["line_manager"],
        "teams_user_id": "29:nadia",
        "aad_object_id": "aad-nadia",
    },
]


@dataclass
class Chat:
    """A person typing to the bot and clicking its cards, over HTTP as Teams would."""

    url: str
    connector: Connector
    http: aiohttp.ClientSession
    ids: itertools.count[int]
    storage_settings: StorageSettings | None = None
    # The app's clock: every date the test types follows from it, never from the machine's.
    clock: RunningClock = field(default_factory=RunningClock)

    def activity(self, who: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "id": f"in-{next(self.ids)}",
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "from": {"id": f"29:{who}", "aadObjectId": f"aad-{who}", "name": who},
            "recipient": {"id": "28:bot"},
            "conversation": {
                "id": f"a:chat-{who}",
                "conversationType": "personal",
                "tenantId": TENANT,
            },
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "en-GB",
        }
        body.update(fields)
        return body

    async def say(self, who: str, text: str) -> list[str]:
        before = len(self.connector.sent)
        async with self.http.post(
            self.url + "/api/messages", json=self.activity(who, text=text)
        ) as r:
            assert r.status == 201, await r.text()
        return [said(s.body) for s in self.connector.sent[before:]]

    async def invoke(self, who: str, verb: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = self.activity(
            who,
            type="invoke",
            name="adaptiveCard/action",
            value={
                "action": {"type": "Action.Execute", "verb": verb, "data": data},
                "trigger": "manual",
            },
        )
        async with self.http.post(self.url + "/api/messages", json=body) as r:
            return r.status, await r.json()


def chat_settings(chat: Chat) -> StorageSettings:
    assert chat.storage_settings is not None
    return chat.storage_settings


def said(body: dict[str, Any]) -> str:
    """What a reply says: its text, and the text of any card it carries (choices, prompts)."""
    parts = [str(body.get("text") or "")]
    for attachment in body.get("attachments") or []:
        content = attachment.get("content") or {}
        parts.append(str(content.get("text") or ""))
        parts += [str(b.get("title") or "") for b in content.get("buttons") or []]
    return "\n".join(p for p in parts if p)


ChatT = TypeVar("ChatT", bound=Chat)


async def settings_with(
    tmp_path: Path,
    people: list[dict[str, Any]],
    agencies: list[dict[str, Any]] | None = None,
) -> AppSettings:
    """App settings on a fresh embedded store holding `people`, and `agencies` (by default every
    agency on Teams from TENANT, the tenant every test activity comes from)."""
    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        await storage.directory.import_records(
            people, agencies_for(people, TENANT) if agencies is None else agencies
        )
    finally:
        await storage.close()
    return AppSettings(storage=storage_settings, dispatch_interval_seconds=0.05)


@asynccontextmanager
async def running(settings: AppSettings, kind: type[ChatT], start: int = 1) -> AsyncIterator[ChatT]:
    """The app on 127.0.0.1 with a stand-in Bot Connector, and a client that talks to it; the
    app runs on a fixed day (tests.support.TEST_DAY_START), whatever the machine's date."""
    clock = RunningClock()
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=clock)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield kind(url, stand_in, http, itertools.count(start), settings.storage, clock)


def cards(connector: Connector, conversation: str) -> list[dict[str, Any]]:
    return [
        a["content"]
        for s in connector.sent
        if s.conversation_id == conversation
        for a in s.body.get("attachments") or []
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
    ]


def card_text(card: dict[str, Any]) -> str:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body"))
    return "\n".join(found)


async def eventually(check: Callable[[], object], within: float = 5.0) -> None:
    """Poll until the dispatcher (a background task) has done its work; bounded."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - the condition lives in another component
            await asyncio.sleep(0.05)


# (answer, words of the question that follows it), from "raise" to the summary.
ANSWERS = [
    ("raise", "agency"),
    ("NELFT NHS Foundation Trust", "other professional"),
    ("Noah Okafor", "case reference"),
    ("ASC-104233", "What is it about"),
    ("Eligibility criteria and access to services", "immediate risk"),
    ("no", "child"),
    ("no", "What is the issue"),
    ("Community nursing declined a joint visit", "risk to the adult"),
    ("Further falls; lives alone", "disagree about"),
    ("Whether a joint visit is needed", "aim to achieve"),
    ("A joint visit within a week", "evidence"),
    ("GP letter of 27 November", "When did the disagreement arise"),
    ("yesterday", "Raise this disagreement now"),
]


def says(replies: list[str], words: str) -> bool:
    return any(words.lower() in r.lower() for r in replies)


async def answer(chat: Chat, text: str, expect: str) -> list[str]:
    replies = await chat.say("amara", text)
    assert says(replies, expect), (text, expect, replies)
    return replies


async def opened_case(chat: Chat) -> Case:
    replies = await chat.say("amara", "yes")
    opened = next((r for r in replies if " is open." in r), None)
    assert opened is not None, replies
    case_id = opened.split()[1]
    storage = await open_storage(chat_settings(chat))
    try:
        stored = await storage.cases.load(case_id)
    finally:
        await storage.close()
    assert stored is not None
    return fold(stored.events)
