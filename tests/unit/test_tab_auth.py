"""The tabs' token check (tabs.auth): Entra's v1 and v2 tokens for the app's API are accepted;
expired, wrong audience, wrong issuer, another tenant, unsigned, `alg=none`, a shared-secret
algorithm, an unknown key and a token without the scope are not. Keys are made here."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tabs.auth import (
    JwksKeys,
    LocalSigner,
    TokenError,
    TokenRules,
    api_audiences,
    entra_issuers,
    local_issuers,
    tenants_of,
    verify,
)

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # the app's clock, not the machine's
TENANT = "11111111-2222-3333-4444-555555555555"
OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
TAB_APP = "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab"
DOMAIN = "sab-bot.azurewebsites.net"
URI = f"api://{DOMAIN}/{TAB_APP}"
OID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(*pairs: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    keys = []
    for kid, key in pairs:
        entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        keys.append({**entry, "kid": kid, "use": "sig"})
    return {"keys": keys}


class Fetches:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.count = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.count += 1
        return self.document


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RULES = TokenRules(
    audiences=api_audiences(DOMAIN, TAB_APP),
    issuers=entra_issuers,
    tenant_allowed=tenants_of([TENANT]),
)


def claims(**changes: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp()) - 300
    base: dict[str, Any] = {
        "aud": URI,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "tid": TENANT,
        "oid": OID,
        "name": "Noah Okafor",
        "scp": "access_as_user",
        "ver": "1.0",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 3600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(
    body: Mapping[str, Any], key: rsa.RSAPrivateKey = KEY, kid: str = "k1", alg: str = "RS256"
) -> str:
    return jwt.encode(dict(body), key, algorithm=alg, headers={"kid": kid})


def keys() -> JwksKeys:
    return JwksKeys(Fetches(jwks(("k1", KEY))))


async def check(token: str) -> str:
    user = await verify(token, keys(), RULES, NOW)
    return f"{user.tenant_id}/{user.object_id}"


async def test_a_v1_token_for_the_apps_uri_names_the_person() -> None:
    user = await verify(signed(claims()), keys(), RULES, NOW)
    assert (user.tenant_id, user.object_id, user.name) == (TENANT, OID, "Noah Okafor")


async def test_a_v2_token_for_the_client_id_is_accepted_too() -> None:
    token = signed(
        claims(aud=TAB_APP, iss=f"https://login.microsoftonline.com/{TENANT}/v2.0", ver="2.0")
    )
    assert await check(token) == f"{TENANT}/{OID}"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"exp": int((NOW - timedelta(minutes=2)).timestamp())}, "expired"),
        ({"exp": None}, "rejected"),
        ({"nbf": int((NOW + timedelta(minutes=5)).timestamp())}, "not valid yet"),
        ({"aud": f"api://{DOMAIN}/someone-else"}, "rejected"),
        ({"aud": "00000003-0000-0000-c000-000000000000"}, "rejected"),  # Microsoft Graph's
        ({"iss": "https://sts.windows.net/evil/"}, "issuer"),
        ({"iss": f"https://login.example.org/{TENANT}/v2.0"}, "issuer"),
        # Another tenant's genuine token: its issuer matches its tid, but the board serves it not.
        ({"tid": OTHER_TENANT, "iss": f"https://sts.windows.net/{OTHER_TENANT}/"}, "tenant"),
        # A tid that does not match the issuer's tenant.
        ({"tid": OTHER_TENANT}, "issuer"),
        ({"scp": "User.Read"}, "access_as_user"),
        ({"scp": None}, "access_as_user"),
        ({"oid": None}, "rejected"),
        ({"tid": None}, "rejected"),
    ],
)
async def test_a_token_that_fails_any_check_is_refused(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(TokenError, match=why):
        await check(signed(claims(**changes)))


async def test_the_leeway_is_a_minute_by_the_apps_clock() -> None:
    almost = claims(exp=int((NOW - timedelta(seconds=30)).timestamp()))
    assert await check(signed(almost))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_unsigned_and_alg_none_tokens_are_refused() -> None:
    body = _b64(json.dumps(claims()).encode())
    for header in ({"alg": "none", "kid": "k1"}, {"alg": "none"}, {"alg": "RS256", "kid": "k1"}):
        token = f"{_b64(json.dumps(header).encode())}.{body}."
        with pytest.raises(TokenError):
            await check(token)
    # PyJWT's own alg=none encoding, and no signature part at all.
    with pytest.raises(TokenError, match="algorithm"):
        await check(jwt.encode(claims(), "", algorithm="none", headers={"kid": "k1"}))
    with pytest.raises(TokenError):
        await check(signed(claims()).rsplit(".", 1)[0])
    with pytest.raises(TokenError):
        await check("")


async def test_a_token_signed_with_the_public_key_as_a_shared_secret_is_refused() -> None:
    public = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = _b64(json.dumps(claims()).encode())
    head = _b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    import hmac
    from hashlib import sha256

    signature = _b64(hmac.new(public, f"{head}.{body}".encode(), sha256).digest())
    with pytest.raises(TokenError, match="algorithm"):
        await check(f"{head}.{body}.{signature}")


async def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError, match="rejected"):
        await check(signed(claims(), key=STRANGER))  # names k1, signed by another key
    with pytest.raises(TokenError, match="not the issuer's"):
        await check(signed(claims(), key=STRANGER, kid="k-unknown"))


async def test_a_tampered_token_is_refused() -> None:
    head, _, signature = signed(claims()).split(".")
    forged = _b64(json.dumps(claims(oid="someone-else")).encode())
    with pytest.raises(TokenError, match="rejected"):
        await check(f"{head}.{forged}.{signature}")


async def test_without_a_tab_app_id_no_token_is_accepted() -> None:
    rules = TokenRules(frozenset(), entra_issuers, tenants_of([TENANT]))
    with pytest.raises(TokenError, match="TAB_APP_ID"):
        await verify(signed(claims()), keys(), rules, NOW)


async def test_the_signing_keys_are_cached_and_fetched_again_only_when_needed() -> None:
    fetches = Fetches(jwks(("k1", KEY)))
    ticks = Ticks()
    cache = JwksKeys(fetches, ttl=3600, refetch_after=60, monotonic=ticks)
    assert await cache.key("k1") is not None
    assert await cache.key("k1") is not None
    assert fetches.count == 1
    # An unknown key id fetches again, but not more than once a minute.
    assert await cache.key("made-up") is None
    assert fetches.count == 1  # within the minute of the first fetch
    ticks.now += 61
    assert await cache.key("made-up") is None
    assert await cache.key("made-up-2") is None
    assert fetches.count == 2
    # Entra rolls its keys: a token with the new key is accepted once fetched.
    fetches.document = jwks(("k1", KEY), ("k2", STRANGER))
    ticks.now += 61
    assert await cache.key("k2") is not None
    assert fetches.count == 3
    # After the time to live, the keys are fetched again even for a known key.
    ticks.now += 3600
    await cache.key("k1")
    assert fetches.count == 4


async def test_keys_that_cannot_be_fetched_leave_the_cache_as_it_was() -> None:
    calls = 0

    async def failing() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        raise OSError("no route")

    cache = JwksKeys(failing)
    assert await cache.key("k1") is None
    assert calls == 1


async def test_local_tokens_are_checked_by_the_same_code_with_the_local_key() -> None:
    audience = "api://127.0.0.1/local"
    signer = LocalSigner(audience=audience)
    rules = TokenRules(frozenset({audience}), local_issuers, tenants_of([TENANT]))
    token = signer.mint(tenant_id=TENANT, object_id=OID, name="Alex", now=NOW)
    user = await verify(token, signer, rules, NOW)
    assert user.object_id == OID
    # The same rules as Entra's: expiry by the app's clock, the tenant, the issuer.
    with pytest.raises(TokenError, match="expired"):
        await verify(token, signer, rules, NOW + timedelta(hours=2))
    stranger = signer.mint(tenant_id=OTHER_TENANT, object_id=OID, name="X", now=NOW)
    with pytest.raises(TokenError, match="tenant"):
        await verify(stranger, signer, rules, NOW)
    # An Entra-issued token is no good locally, and a local one is no good against Entra.
    with pytest.raises(TokenError):
        await verify(signed(claims(aud=audience)), signer, rules, NOW)
    with pytest.raises(TokenError):
        await verify(token, keys(), RULES, NOW)
    # Another local signer's tokens (another run of the app) are refused.
    other = LocalSigner(audience=audience)
    with pytest.raises(TokenError, match="not the issuer's"):
        await verify(
            other.mint(tenant_id=TENANT, object_id=OID, name="", now=NOW), signer, rules, NOW
        )
