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
from bootstrap.build import escalation_service, open_storage
from bot.settings import AppSettings, SettingsError
from storage.settings import StorageSettings
from testkit.connector import Connector, connector, serve
from testkit.people import agencies_for

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


async def test_an_unsupported_invoke_is_a_client_error_not_a_5xx(running: Running) -> None:
    status, detail = await running.post(
        activity(running.connector.url, type="invoke", name="composeExtension/query", value={})
    )
    assert status == 400 and "does not handle" in str(detail)


async def test_a_card_action_is_answered_with_a_card_as_utf8_json(running: Running) -> None:
    value = {"action": {"type": "Action.Execute", "verb": "refresh", "data": {"case_id": "X"}}}
    body = activity(running.connector.url, type="invoke", name="adaptiveCard/action", value=value)
    async with running.http.post(running.url + "/api/messages", json=body) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        answer = json.loads(await response.read())
    assert answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert answer["value"]["type"] == "AdaptiveCard"


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


APP_ID = "00000000-0000-0000-0000-0000000000b0"
SORRY = "Sorry, something went wrong"


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`body` with the field at a dotted path ("conversation.isGroup") set to `value`."""
    *parents, last = path.split(".")
    node = body
    for step in parents:
        node = node.setdefault(step, {})
    node[last] = value
    return body


# Fields of the wrong type that were answered with a 500, and shapes whose turn failed after a
# 201 ("Sorry, something went wrong"): (field, value, the path the 400 names).
WRONG_SHAPES = [
    ("from", [], "from"),
    ("timestamp", 5, "timestamp"),
    ("entities", "x", "entities"),
    ("attachments", -1, "attachments"),
    ("recipient", [], "recipient"),
    ("localTimestamp", 5, "localTimestamp"),
    ("membersAdded", {}, "membersAdded"),
    ("membersRemoved", "x", "membersRemoved"),
    ("suggestedActions", [], "suggestedActions"),
    ("conversation.isGroup", "x", "conversation.isGroup"),
    ("relatesTo", "x", "relatesTo"),
    ("expiration", "soon", "expiration"),
    ("semanticAction", [], "semanticAction"),
    ("text", ["a"], "text"),
    ("channelData.tenant", "x", "channelData.tenant"),
    ("recipient", None, "recipient"),
    ("channelId", None, "channelId"),
    ("entities", [{"a": 1}], "entities[0].type"),
]


@pytest.mark.parametrize(("path", "value", "field"), WRONG_SHAPES, ids=[w[0] for w in WRONG_SHAPES])
async def test_a_field_of_the_wrong_type_gets_400_naming_it(
    running: Running, path: str, value: Any, field: str
) -> None:
    status, detail = await running.post(changed(activity(running.connector.url), path, value))
    assert status == 400, detail
    assert isinstance(detail, dict) and detail["field"] == field
    assert field in detail["error"]
    assert running.connector.sent == []


async def test_a_body_nested_a_thousand_deep_gets_400(running: Running) -> None:
    body = '{"a":' * 1000 + "1" + "}" * 1000  # 2 KB: a RecursionError (500) before
    status, detail = await running.post(
        None, data=body, headers={"Content-Type": "application/json"}
    )
    assert (status, detail) == (400, {"error": "the body nests too deeply"})
    nested = json.dumps(activity(running.connector.url, value="@")).replace(
        '"@"', "[" * 100 + "]" * 100
    )
    status, detail = await running.post(
        None, data=nested, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "nests too deeply" in str(detail)


async def test_the_conversations_tenant_must_be_the_channel_datas(running: Running) -> None:
    body = changed(activity(running.connector.url), "conversation.tenantId", "another-tenant")
    status, detail = await running.post(body)
    assert status == 400 and isinstance(detail, dict)
    assert detail["field"] == "conversation.tenantId" and "different tenant" in detail["error"]
    assert running.connector.sent == []


def in_a_channel(service_url: str, text: str, **channel_data: Any) -> dict[str, Any]:
    return activity(
        service_url,
        text=f"<at>Escalation</at> {text}",
        conversation={
            "id": "19:general@thread.tacv2;messageid=1",
            "conversationType": "channel",
            "tenantId": TENANT,
        },
        channelData={"tenant": {"id": TENANT}, **channel_data},
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:bot", "name": "Escalation"},
                "text": "<at>Escalation</at>",
            }
        ],
    )


@pytest.mark.parametrize(
    ("channel_data", "field"),
    [
        ({"team": "x", "channel": {"id": "c"}}, "channelData.team"),
        ({"team": {"id": "t"}, "channel": []}, "channelData.channel"),
        ({"team": {"id": 5}, "channel": {"id": "c"}}, "channelData.team.id"),
    ],
)
async def test_set_channel_with_a_team_or_channel_that_is_not_an_object(
    running: Running, channel_data: dict[str, Any], field: str
) -> None:
    status, detail = await running.post(
        in_a_channel(running.connector.url, "set channel", **channel_data)
    )
    assert status == 400 and isinstance(detail, dict) and detail["field"] == field
    assert running.connector.sent == []


async def test_the_bot_copes_with_what_is_optional_or_odd_but_well_formed(
    running: Running,
) -> None:
    url = running.connector.url
    cases: list[tuple[dict[str, Any], str]] = [
        # A channel without its team or channel: the bot says where to do it.
        (in_a_channel(url, "set channel"), "Do this in the team channel"),
        # A mention whose text is not a valid regular expression (botbuilder used it as one).
        (
            activity(
                url,
                text="<at>Esc(</at> help",
                entities=[
                    {"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>Esc(</at>"}
                ],
            ),
            "professional disagreements",
        ),
        # A mention and no text at all.
        (
            changed(
                activity(url, entities=[{"type": "mention", "mentioned": {"id": "28:bot"}}]),
                "text",
                None,
            ),
            "professional disagreements",
        ),
        # A card button whose verb is not text: a card saying it was not understood.
        (changed(activity(url, value={"verb": ["raise"]}), "text", None), ""),
        # Added to a chat, with no channelData, and to a team, by a member with only an id.
        (
            {
                k: v
                for k, v in activity(url, type="conversationUpdate").items()
                if k not in ("channelData", "text")
            }
            | {"membersAdded": [{"id": "29:alex"}, {"id": "28:bot"}]},
            "",
        ),
        (
            changed(
                activity(url, type="conversationUpdate", membersAdded=[{"id": "29:new"}]),
                "channelData.team",
                {"id": "19:team@thread.tacv2"},
            ),
            "",
        ),
    ]
    for body, says in cases:
        before = len(running.connector.sent)
        status, _ = await running.post(body)
        assert status == 201, body
        replies = running.connector.sent[before:]
        assert replies, body
        texts = [str(r.body.get("text") or "") for r in replies]
        assert not [t for t in texts if SORRY in t], body
        if says:
            assert any(says in t for t in texts), (body, texts)
        else:  # a card: the welcome card, or the one saying the button was not understood
            assert all(r.body.get("attachments") for r in replies), body


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer "}],
    ids=["none", "blank", "basic", "bearer-without-token"],
)
async def test_with_an_app_id_an_anonymous_caller_gets_401_whatever_it_sends(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    settings = AppSettings(
        app_id=APP_ID,
        app_password="secret",
        allowed_tenants=frozenset({TENANT}),
        storage=StorageSettings(None, tmp_path / "data"),
    )
    teams = "https://smba.trafficmanager.net/uk/"
    other_tenant = changed(
        changed(activity(teams), "channelData.tenant.id", "evil-tenant"),
        "conversation.tenantId",
        "evil-tenant",
    )
    bodies: list[tuple[Any, dict[str, str]]] = [
        (activity(teams), {}),
        (other_tenant, {}),  # a tenant not served: 401 too, so the allow-list is not told
        *((changed(activity(teams), p, v), {}) for p, v, _ in WRONG_SHAPES),
        ('{"a":' * 1000 + "1" + "}" * 1000, {"Content-Type": "application/json"}),
        ("{", {"Content-Type": "application/json"}),
        ("help", {"Content-Type": "text/plain"}),
    ]
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        running = Running(url, stand_in, settings, http)
        for body, content in bodies:
            options = {"data": body} if isinstance(body, str) else {}
            status, detail = await running.post(body, headers={**headers, **content}, **options)
            assert status == 401, (body, detail)
        # With a token that is not valid, the tenant is still never told: 401 before 403.
        status, _ = await running.post(other_tenant, headers={"Authorization": "Bearer forged"})
        assert status == 401
        assert stand_in.sent == []


async def test_card_inputs_of_the_wrong_type_are_refused_on_the_card(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from escalation.case import fold
    from escalation.directory import Person
    from escalation.packs import PackRegistry
    from testkit.builders import redbridge_raise

    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        people = [
            {"id": "amara", "name": "Amara", "agency": "redbridge-asc", "roles": ["practitioner"]},
            {"id": "noah", "name": "Noah", "agency": "nelft", "roles": ["practitioner"]},
        ]
        await storage.directory.import_records(people, agencies_for(people, TENANT))
        await storage.directory.upsert_person(
            Person("noah", "Noah", "nelft", frozenset({"practitioner"})),
            teams_user_id="29:alex",
            aad_object_id="aad-alex",
        )
        service = escalation_service(
            storage,
            PackRegistry.from_directory(POLICIES),
            now=lambda: datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        )
        opened = (await service.execute(redbridge_raise())).case
    finally:
        await storage.close()
    form = {
        "record.held_date": "2026-11-30",
        "record.held_time": "10:00",
        "record.participants": "Amara, Noah",
        "record.summary": "Talked it through",
        "record.outcome": "continuing",
    }
    settings = AppSettings(storage=storage_settings)
    async with (
        connector() as stand_in,
        serve(create_app(settings)) as url,
        aiohttp.ClientSession() as http,
    ):
        running = Running(url, stand_in, settings, http)
        for field, value in (
            ("record.summary", ["a"]),
            ("record.summary", {"a": 1}),
            ("record.participants", 5),
        ):
            data = {
                "case_id": opened.id,
                "version": opened.version,
                "verb": "record",
                **form,
                field: value,
            }
            body = activity(
                stand_in.url,
                type="invoke",
                name="adaptiveCard/action",
                value={"action": {"type": "Action.Execute", "verb": "record", "data": data}},
            )
            status, response = await running.post(body)
            assert status == 200 and isinstance(response, dict)
            said = json.dumps(response["value"])
            assert "in a form I cannot read" in said, said
    storage = await open_storage(storage_settings)
    try:
        stored = await storage.cases.load(opened.id)
    finally:
        await storage.close()
    assert stored is not None
    after = fold(stored.events)
    assert after.records == () and after.version == opened.version


async def test_my_cases_lists_the_persons_open_cases(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from escalation.directory import Person
    from escalation.packs import PackRegistry
    from testkit.builders import redbridge_raise

    raised_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        people = [
            {"id": "amara", "name": "Amara", "agency": "redbridge-asc", "roles": ["practitioner"]},
            {"id": "noah", "name": "Noah", "agency": "nelft", "roles": ["practitioner"]},
        ]
        await storage.directory.import_records(people, agencies_for(people, TENANT))
        await storage.directory.upsert_person(
            Person("noah", "Noah", "nelft", frozenset({"practitioner"})),
            teams_user_id="29:alex",
            aad_object_id="aad-alex",
        )
        service = escalation_service(
            storage,
            PackRegistry.from_directory(POLICIES),
            now=lambda: raised_at,
        )
        opened = await service.execute(redbridge_raise())
    finally:
        await storage.close()
    settings = AppSettings(storage=storage_settings)
    # The app reads the list an hour after the raise, whatever the machine's date.
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=lambda: raised_at + timedelta(hours=1))) as url,
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
