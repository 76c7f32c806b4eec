"""A case whose parties sit in two Microsoft Entra tenants, over HTTP as Teams would call the bot.

The council's people sign in to Teams from one tenant and the NHS trust's from another, and each
tenant has its own Bot Connector service URL (here, two stand-in connectors). A 1:1 chat with
someone who has never opened the bot is started in their own tenant, on a service URL the bot
learned from that tenant: never in the raiser's tenant, where Teams would not find them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from testkit.chat import card_text, cards, eventually, said, settings_with
from testkit.clocks import RunningClock
from testkit.connector import Connector, connector, serve
from testkit.walk import (
    PEOPLE,
    Walk,
    practitioners_talked,
    raise_case,
)

COUNCIL_TENANT = "6f1c2a77-0c0e-4a51-9d84-1a2b3c4d5e01"
NHS_TENANT = "b2d4e6f8-1111-4c2d-8e9f-0a1b2c3d4e02"
# Each agency registers the tenant its people sign in from (the directory file's `agencies:`).
TENANT_OF_AGENCY = {
    "redbridge-asc": COUNCIL_TENANT,
    "redbridge-cvs": COUNCIL_TENANT,
    "nelft": NHS_TENANT,
}
AGENCIES = [{"id": agency, "tenants": [tenant]} for agency, tenant in TENANT_OF_AGENCY.items()]
AGENCY_OF = {str(p["id"]): str(p["agency"]) for p in PEOPLE}


@dataclass
class TwoTenants(Walk):
    """People typing and clicking from their own tenant, each tenant on its own connector."""

    nhs: Connector | None = None  # the NHS tenant's Bot Connector; `connector` is the council's

    def tenant(self, who: str) -> str:
        return TENANT_OF_AGENCY[AGENCY_OF[who]]

    def connector_of(self, who: str) -> Connector:
        assert self.nhs is not None
        return self.nhs if self.tenant(who) == NHS_TENANT else self.connector

    def activity(self, who: str, **fields: Any) -> dict[str, Any]:
        body = super().activity(who, **fields)
        body["serviceUrl"] = self.connector_of(who).url
        body["conversation"]["tenantId"] = self.tenant(who)
        body["channelData"] = {"tenant": {"id": self.tenant(who)}}
        return body

    async def say(self, who: str, text: str) -> list[str]:
        stand_in = self.connector_of(who)
        before = len(stand_in.sent)
        async with self.http.post(
            self.url + "/api/messages", json=self.activity(who, text=text)
        ) as r:
            assert r.status == 201, await r.text()
        return [said(s.body) for s in stand_in.sent[before:]]


@asynccontextmanager
async def two_tenants(settings: AppSettings) -> AsyncIterator[TwoTenants]:
    clock = RunningClock()
    async with (
        connector() as council,
        connector() as nhs,
        serve(create_app(settings, clock=clock)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield TwoTenants(url, council, http, itertools.count(1), settings.storage, clock, nhs=nhs)


def created_chats(stand_in: Connector) -> list[dict[str, Any]]:
    return [s.body for s in stand_in.sent if s.path == "/v3/conversations"]


async def test_a_case_across_two_tenants_reaches_each_party_in_their_own(tmp_path: Path) -> None:
    settings = await settings_with(tmp_path, PEOPLE, AGENCIES)
    async with two_tenants(settings) as w:
        nhs = w.nhs
        assert nhs is not None
        # Someone at the trust has opened the bot: it has heard from the NHS tenant. Noah, the
        # professional the case is raised with, never has.
        replies = await w.say("nadia", "hello")
        assert replies and not w.connector.sent, "a reply to the NHS tenant went elsewhere"
        case_id = await raise_case(w)  # by Amara, from the council's tenant

        # Noah's chat is started in the NHS tenant, on the service URL learned from it.
        await eventually(lambda: bool(created_chats(nhs)))
        [created] = [s for s in nhs.sent if s.path == "/v3/conversations"]
        assert created.body["members"] == [{"id": "29:noah"}]
        assert created.body["isGroup"] is False
        assert created.body["tenantID"] == NHS_TENANT
        assert created.body["channelData"] == {"tenant": {"id": NHS_TENANT}}
        assert not created_chats(w.connector), "a chat was started in the raiser's tenant"
        await eventually(
            lambda: any(case_id in card_text(c) for c in cards(nhs, created.conversation_id))
        )
        # The raiser's own copy stays in the council's tenant.
        await eventually(
            lambda: any(case_id in card_text(c) for c in cards(w.connector, "a:chat-amara"))
        )

        # Noah acts on the case from his own tenant, over HTTP, and the raiser hears of it in
        # hers.
        amara_before = len(cards(w.connector, "a:chat-amara"))
        await w.act("noah", "record", case_id, **practitioners_talked(w.clock.day()))
        await eventually(lambda: len(cards(w.connector, "a:chat-amara")) > amara_before)
        await w.act("amara", "approve_record", case_id, record_id="R1")
        case = await w.case(case_id)
        assert [r.id for r in case.records] == ["R1"]

        # The chat is remembered with its tenant and service URL: later messages go straight to
        # it, in the NHS tenant.
        storage = await open_storage(settings.storage)
        try:
            reference = await storage.conversations.person_reference("noah")
        finally:
            await storage.close()
        assert reference is not None
        assert reference["tenant"] == NHS_TENANT
        assert reference["serviceUrl"] == nhs.url
        assert reference["conversation"]["id"] == created.conversation_id


async def test_no_chat_is_started_in_a_tenant_the_person_is_not_in(tmp_path: Path) -> None:
    settings = await settings_with(tmp_path, PEOPLE, AGENCIES)
    async with two_tenants(settings) as w:
        assert w.nhs is not None
        # Nobody from the NHS tenant has opened the bot: no service URL is known there.
        case_id = await raise_case(w)
        storage = await open_storage(settings.storage)
        try:

            async def waiting_for_noah() -> list[str]:
                due, _ = await storage.outbox.due(w.clock() + timedelta(days=1))
                # An attempt counts once its error is written (a claimed message is mid-send).
                return [
                    item.last_error
                    for item in due
                    if item.notification.case_id == case_id
                    and item.notification.recipient.id == "noah"
                    and item.last_error
                ]

            async with asyncio.timeout(5):
                while not (why := await waiting_for_noah()):  # noqa: ASYNC110 - the dispatcher
                    await asyncio.sleep(0.05)
            assert "nobody from this person's tenant" in why[0], why
            assert await storage.conversations.person_reference("noah") is None
        finally:
            await storage.close()
        # Nothing was tried in the council's tenant, nor anywhere else.
        assert not created_chats(w.connector) and not created_chats(w.nhs)


async def test_a_chat_is_started_by_object_id_when_the_directory_has_no_teams_id(
    tmp_path: Path,
) -> None:
    """A board knows its partners' people by their Microsoft Entra object ids, not by the Teams
    user id the bot would see: Teams starts a 1:1 chat by either where the app is installed."""
    people = [
        {
            key: value
            for key, value in p.items()
            if not (p["id"] == "noah" and key == "teams_user_id")
        }
        for p in PEOPLE
    ]
    settings = await settings_with(tmp_path, people, AGENCIES)
    async with two_tenants(settings) as w:
        nhs = w.nhs
        assert nhs is not None
        await w.say("nadia", "hello")
        await raise_case(w)
        await eventually(lambda: bool(created_chats(nhs)))
        [created] = created_chats(nhs)
        assert created["members"] == [{"id": "aad-noah"}]
        assert created["tenantID"] == NHS_TENANT
