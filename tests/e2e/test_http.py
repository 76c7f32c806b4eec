"""The bot over HTTP as Teams calls it, with a stand-in Bot Connector recording the replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app import create_app
from bot.settings import AppSettings, SettingsError
from storage.settings import StorageSettings, open_storage
from tests.e2e.connector import Connector, connector, serve

TENANT = "11111111-2222-3333-4444-555555555555"
POLICIES = Path(__file__).resolve().parents[2] / "policies"


@dataclass
class Running:
    url: str
    connector: Connector
    settings: AppSettings
    http: aiohttp.ClientSession

    async def post(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any] | str]:
        options: dict[str, Any] = {"json": body} if "data" not in kwargs else {}
        options.update(kwargs)
        async with self.http.post(self.url + "/api/messages", **options) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else {}
            except json.JSONDecodeError:
                return response.status, text


def activity(service_url: str, text: str = "help", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": "act-1",
        "text": text,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:alex", "name": "Alex Wilber", "aadObjectId": "aad-alex"},
        "recipient": {"id": "28:bot", "name": "Escalation"},
        "conversation": {
            "id": "a:personal-alex",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
    }
    body.update(changes)
    return body


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    settings = AppSettings(storage=StorageSettings(None, tmp_path / "data"))
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield Running(url, stand_in, settings, http)


async def test_health_and_readiness(running: Running) -> None:
    async with running.http.get(running.url + "/healthz") as r:
        assert (r.status, await r.json()) == (200, {"status": "alive"})
    async with running.http.get(running.url + "/readyz") as r:
        assert (r.status, await r.json()) == (200, {"status": "ready"})


async def test_a_message_gets_a_reply_through_the_connector(running: Running) -> None:
    status, _ = await running.post(activity(running.connector.url))
    assert status == 201
    [reply] = running.connector.sent
    assert reply.conversation_id == "a:personal-alex"
    assert reply.path == "/v3/conversations/a:personal-alex/activities/act-1"
    assert "professional disagreements" in reply.body["text"]
    assert "not a complaints process" in reply.body["text"]  # RB-1.5


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param("[1, 2]", 400, "JSON object", id="not-an-object"),
        pytest.param("{", 400, "not valid JSON", id="bad-json"),
        pytest.param('{"text": "hi"}', 400, "no type", id="no-type"),
    ],
)
async def test_malformed_bodies_are_refused(
    running: Running, body: str, status: int, says: str
) -> None:
    got, detail = await running.post(None, data=body, headers={"Content-Type": "application/json"})
    assert got == status and says in str(detail)
    assert running.connector.sent == []


async def test_an_activity_without_a_conversation_or_service_url_is_refused(
    running: Running,
) -> None:
    base = activity(running.connector.url)
    no_conversation = {k: v for k, v in base.items() if k != "conversation"}
    assert (await running.post(no_conversation))[0] == 400
    no_service = {k: v for k, v in base.items() if k != "serviceUrl"}
    status, detail = await running.post(no_service)
    assert status == 400 and "serviceUrl" in str(detail)
    assert (await running.post(activity("ftp://127.0.0.1/x")))[0] == 400
    assert running.connector.sent == []


async def test_wrong_content_type_and_oversized_bodies(running: Running) -> None:
    status, _ = await running.post(None, data="help", headers={"Content-Type": "text/plain"})
    assert status == 415
    big = activity(running.connector.url, text="x" * (running.settings.max_body_bytes + 1))
    status, detail = await running.post(big)
    assert status == 413 and "too large" in str(detail)
    assert running.connector.sent == []


async def test_without_an_app_id_tokens_and_remote_service_urls_are_refused(
    running: Running,
) -> None:
    status, _ = await running.post(
        activity(running.connector.url), headers={"Authorization": "Bearer forged"}
    )
    assert status == 401
    status, detail = await running.post(activity("https://smba.trafficmanager.net/uk/"))
    assert status == 403 and "this machine" in str(detail)
    assert running.connector.sent == []


async def test_an_unsupported_invoke_gets_501(running: Running) -> None:
    status, _ = await running.post(
        activity(running.connector.url, type="invoke", name="composeExtension/query", value={})
    )
    assert status == 501


async def test_with_an_app_id_a_request_without_a_valid_token_is_refused(tmp_path: Path) -> None:
    settings = AppSettings(
        app_id="00000000-0000-0000-0000-0000000000b0",
        app_password="secret",
        allowed_tenants=frozenset({TENANT}),
        storage=StorageSettings(None, tmp_path / "data"),
    )
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        running = Running(url, stand_in, settings, http)
        assert (await running.post(activity("https://smba.trafficmanager.net/uk/")))[0] == 401
        for token in (
            "Bearer abc",
            "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIn0.c2ln",
        ):
            status, _ = await running.post(
                activity("https://smba.trafficmanager.net/uk/"), headers={"Authorization": token}
            )
            assert status == 401
        assert stand_in.sent == []


async def test_only_the_boards_tenants_are_served(tmp_path: Path) -> None:
    settings = AppSettings(
        allowed_tenants=frozenset({TENANT}), storage=StorageSettings(None, tmp_path / "data")
    )
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        running = Running(url, stand_in, settings, http)
        other = activity(
            stand_in.url,
            channelData={"tenant": {"id": "evil-tenant"}},
            conversation={"id": "x", "tenantId": "evil-tenant"},
        )
        status, detail = await running.post(other)
        assert status == 403 and "tenant" in str(detail)
        assert stand_in.sent == []
        assert (await running.post(activity(stand_in.url)))[0] == 201


async def test_my_cases_lists_the_persons_open_cases(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from escalation.directory import Person
    from escalation.memory import RecordingNotifier
    from escalation.packs import PackRegistry
    from escalation.service import EscalationService
    from tests.unit.builders import redbridge_raise

    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        await storage.directory.import_records(
            [
                {
                    "id": "amara",
                    "name": "Amara",
                    "agency": "redbridge-asc",
                    "roles": ["practitioner"],
                },
                {"id": "noah", "name": "Noah", "agency": "nelft", "roles": ["practitioner"]},
            ]
        )
        await storage.directory.upsert_person(
            Person("noah", "Noah", "nelft", frozenset({"practitioner"})),
            teams_user_id="29:alex",
            aad_object_id="aad-alex",
        )
        service = EscalationService(
            packs=PackRegistry.from_directory(POLICIES),
            repository=storage.cases,
            directory=storage.directory,
            notifier=RecordingNotifier(),
            now=lambda: datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        )
        opened = await service.execute(redbridge_raise())
    finally:
        await storage.close()
    settings = AppSettings(storage=storage_settings)
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        running = Running(url, stand_in, settings, http)
        assert (await running.post(activity(stand_in.url, text="my cases")))[0] == 201
        [reply] = stand_in.texts()
        assert opened.case.id in reply and "stage 1 (Practitioners)" in reply
        assert "next due Fri 04 Dec 17:00" in reply


def test_settings_are_checked_at_start() -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.from_env({"MicrosoftAppId": "abc", "PORT": "http", "MicrosoftAppType": "Weird"})
    message = str(caught.value)
    for needed in (
        "MicrosoftAppType must be one of",
        "MicrosoftAppPassword is required",
        "PORT must be a number",
        "ALLOWED_TENANTS is required",
    ):
        assert needed in message
    local = AppSettings.from_env({})
    assert (local.anonymous, local.host, local.port, local.storage.engine) == (
        True,
        "127.0.0.1",
        3978,
        "sqlite",
    )
    single = AppSettings.from_env(
        {
            "MicrosoftAppId": "a",
            "MicrosoftAppPassword": "p",
            "MicrosoftAppType": "SingleTenant",
            "MicrosoftAppTenantId": "tid",
            "ALLOWED_TENANTS": "t1, t2",
        }
    )
    assert (single.app_type, single.app_tenant_id, single.allowed_tenants) == (
        "SingleTenant",
        "tid",
        frozenset({"t1", "t2"}),
    )
    with pytest.raises(SettingsError, match="MicrosoftAppTenantId is required"):
        AppSettings.from_env(
            {
                "MicrosoftAppId": "a",
                "MicrosoftAppPassword": "p",
                "MicrosoftAppType": "SingleTenant",
                "ALLOWED_TENANTS": "t",
            }
        )
