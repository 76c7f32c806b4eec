"""The tabs with an app id, as deployed: tokens are Entra's, checked against Entra's signing keys
(here a JWKS document served on loopback, with a key made in the test), for the tabs' API; the
local sign-in does not exist."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from storage.settings import StorageSettings
from tabs.auth import JwksKeys, aiohttp_fetch
from tabs.web import TABS
from testkit.clocks import RunningClock
from testkit.connector import serve

TENANT = "11111111-2222-3333-4444-555555555555"
TAB_APP = "7c0d2e41-9a3b-4f6e-8d15-2b4c6a8e0f13"
DOMAIN = "sab-bot.example.net"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid}


@pytest.fixture
async def keys_url() -> AsyncIterator[list[str]]:
    """Two JWKS documents on loopback, as Entra publishes v2 and v1 keys."""

    async def v2(_: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk("k2", KEY)]})

    async def v1(_: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk("k1", KEY)]})

    app = web.Application()
    app.router.add_get("/v2", v2)
    app.router.add_get("/v1", v1)
    async with serve(app) as url:
        yield [f"{url}/v2", f"{url}/v1"]


async def test_keys_are_read_from_every_document(keys_url: list[str]) -> None:
    cache = JwksKeys(aiohttp_fetch(keys_url))
    assert await cache.key("k1") is not None and await cache.key("k2") is not None


async def test_an_entra_token_for_the_tabs_api_signs_a_person_in(
    tmp_path: Path, keys_url: list[str]
) -> None:
    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        await storage.directory.import_records(
            [
                {
                    "id": "noah",
                    "name": "Noah Okafor",
                    "agency": "nelft",
                    "roles": ["practitioner"],
                    "aad_object_id": "oid-noah",
                }
            ],
            [{"id": "nelft", "tenants": [TENANT]}],
        )
    finally:
        await storage.close()
    settings = AppSettings(
        app_id="3f2a1c9e-5b7d-4e11-9a0c-1234567890ab",
        app_password="secret",
        allowed_tenants=frozenset({TENANT}),
        storage=storage_settings,
        public_base_url=f"https://{DOMAIN}",
        tab_app_id=TAB_APP,
    )
    clock = RunningClock()
    app = create_app(settings, clock=clock)
    app[TABS].keys = JwksKeys(aiohttp_fetch(keys_url))
    now = int(clock().timestamp())

    def token(**changes: Any) -> str:
        claims: dict[str, Any] = {
            "aud": f"api://{DOMAIN}/{TAB_APP}",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "tid": TENANT,
            "oid": "oid-noah",
            "scp": "access_as_user",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
        }
        claims.update(changes)
        return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})

    async def status(http: aiohttp.ClientSession, url: str, bearer: str) -> int:
        headers: Mapping[str, str] = {"Authorization": f"Bearer {bearer}"}
        async with http.get(f"{url}/tabs/api/my-cases.json", headers=headers) as r:
            return r.status

    async with serve(app) as url, aiohttp.ClientSession() as http:
        assert await status(http, url, token()) == 200
        v2 = token(aud=TAB_APP, iss=f"https://login.microsoftonline.com/{TENANT}/v2.0")
        assert await status(http, url, v2) == 200
        assert await status(http, url, token(aud=f"api://{DOMAIN}/other")) == 401
        assert await status(http, url, token(exp=now - 3600)) == 401
        assert await status(http, url, token(oid="oid-nobody")) == 403
        async with http.get(f"{url}/tabs/local/sign-in") as r:
            assert r.status == 404  # no local sign-in with an app id
        async with http.post(f"{url}/tabs/local/token", json={"person": "noah"}) as r:
            assert r.status in (404, 405)
        async with http.get(f"{url}/tabs/my-cases") as r:
            assert r.status == 200
            assert 'data-auth="entra"' in await r.text()
