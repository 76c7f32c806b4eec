"""Who is looking at a tab: the Microsoft Entra token Teams gives the page, checked.

In Teams the page asks the Teams JavaScript client library for a token (`getAuthToken`): an Entra
access token for the app's own API (the tab's app registration, `webApplicationInfo` in the
manifest), issued to the signed-in person. The server accepts it only when:

* it is signed (RS256) by a key from Entra's published signing keys (JWKS, cached; fetched again
  when a token names a key the cache does not hold, at most once a minute), never `alg=none` or
  a shared-secret algorithm;
* its issuer is Entra's, v1 (`https://sts.windows.net/{tid}/`) or v2
  (`https://login.microsoftonline.com/{tid}/v2.0`), for the token's own tenant (`tid`), and that
  tenant is one of `ALLOWED_TENANTS`;
* its audience is the app's API: the Application ID URI (`api://{domain}/{tab app id}`, v1) or
  the tab app's client id (v2);
* it grants the `access_as_user` scope, names the person (`oid`) and is within its lifetime by the
  app's clock (a minute's leeway for clock skew).

Without an app id (local use) the app signs tokens itself with a key made at start, for sample
people chosen on a local page, and checks them with this same code: only the keys and the issuer
differ (`local_rules`). Nothing here decides what the person may see: the tab maps `tid` and
`oid` to a directory entry as the bot does (bot.identity), and asks the core.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from escalation.directory import tenant_key

log = logging.getLogger("escalation.tabs.auth")

SCOPE: Final = "access_as_user"
ALGORITHM: Final = "RS256"
LEEWAY: Final = timedelta(seconds=60)
# Entra's signing keys for v2 and v1 tokens (the same keys in practice; both are read).
ENTRA_KEYS_URLS: Final = (
    "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    "https://login.microsoftonline.com/common/discovery/keys",
)
LOCAL_TAB_APP_ID: Final = "00000000-0000-0000-0000-00000000ab00"  # local use: no registration
LOCAL_ISSUER_PREFIX: Final = "urn:sab-escalation:local-sign-in:"


class TokenError(Exception):
    """A token that is not accepted; the message says why, for the log (the caller gets 401)."""


@dataclass(frozen=True)
class TabUser:
    tenant_id: str
    object_id: str
    name: str


class KeySource(Protocol):
    async def key(self, kid: str) -> Any:
        """The public key for `kid` (a `jwt.PyJWK`'s key), or None when there is none."""
        ...


def entra_issuers(tenant_id: str) -> frozenset[str]:
    return frozenset(
        {
            f"https://sts.windows.net/{tenant_id}/",
            f"https://login.microsoftonline.com/{tenant_id}/v2.0",
        }
    )


def local_issuers(tenant_id: str) -> frozenset[str]:
    return frozenset({f"{LOCAL_ISSUER_PREFIX}{tenant_id}"})


def api_audiences(domain: str, tab_app_id: str, app_id_uri: str = "") -> frozenset[str]:
    """The app's API as a token names it: the Application ID URI (v1 tokens) or the client id (v2)."""
    if not tab_app_id:
        return frozenset()
    return frozenset({app_id_uri or f"api://{domain}/{tab_app_id}", tab_app_id})


TenantCheck = Callable[[str], Awaitable[bool]]


def tenants_of(allowed: Iterable[str]) -> TenantCheck:
    keys = frozenset(tenant_key(t) for t in allowed)

    async def check(tenant_id: str) -> bool:
        return tenant_key(tenant_id) in keys

    return check


@dataclass(frozen=True)
class TokenRules:
    audiences: frozenset[str]
    issuers: Callable[[str], frozenset[str]]  # the issuers accepted for a tenant id
    tenant_allowed: TenantCheck
    scope: str = SCOPE


async def verify(token: str, keys: KeySource, rules: TokenRules, now: datetime) -> TabUser:
    """The person the token names, or TokenError."""
    if not token or token.count(".") != 2:
        raise TokenError("not a signed token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError(f"unreadable header ({type(exc).__name__})") from None
    if header.get("alg") != ALGORITHM:
        raise TokenError(f"algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("the token names no signing key")
    key = await keys.key(kid)
    if key is None:
        raise TokenError("signed with a key that is not the issuer's")
    if not rules.audiences:
        raise TokenError("tab sign-in is not set up (no TAB_APP_ID)")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=sorted(rules.audiences),
            # Times are checked below against the app's clock.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": ["exp", "iss", "aud", "tid", "oid"],
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenError(f"rejected: {type(exc).__name__}") from None
    _check_times(claims, now)
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not tenant:
        raise TokenError("no tenant")
    if claims.get("iss") not in rules.issuers(tenant):
        raise TokenError("issuer is not Entra's for the token's tenant")
    if not await rules.tenant_allowed(tenant):
        raise TokenError("tenant is not one the board serves")
    scopes = str(claims.get("scp") or "").split()
    if rules.scope not in scopes:
        raise TokenError(f"the token does not grant {rules.scope}")
    oid = claims.get("oid")
    if not isinstance(oid, str) or not oid.strip():
        raise TokenError("no object id")
    name = claims.get("name")
    return TabUser(tenant.strip(), oid.strip(), name if isinstance(name, str) else "")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(f"{name} is not a time")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    moment = now.timestamp()
    leeway = LEEWAY.total_seconds()
    expires = _number(claims, "exp")
    if expires is None or moment > expires + leeway:
        raise TokenError("expired")
    not_before = _number(claims, "nbf")
    if not_before is not None and moment < not_before - leeway:
        raise TokenError("not valid yet")
    issued = _number(claims, "iat")
    if issued is not None and moment < issued - leeway:
        raise TokenError("issued in the future")


# -- keys -------------------------------------------------------------------------------------------

Fetch = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksKeys:
    """Entra's signing keys, fetched with `fetch` and kept for `ttl`; a token naming a key the
    cache does not hold fetches them again, at most once every `refetch_after` seconds, so a
    stream of made-up key ids cannot make the app hammer Entra."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        ttl: float = 24 * 3600,
        refetch_after: float = 60,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._refetch_after = refetch_after
        self._monotonic = monotonic
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        now = self._monotonic()
        fresh = self._fetched_at is not None and now - self._fetched_at < self._ttl
        if fresh and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self._refetch_after
            if stale or (kid not in self._keys and may_refetch):
                await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        try:
            document = await self._fetch()
        except Exception as exc:  # Entra unreachable: keep what we had, and say so
            log.warning("tab sign-in: signing keys could not be fetched (%s)", type(exc).__name__)
            return
        keys: dict[str, Any] = {}
        for entry in document.get("keys") or ():
            if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
                continue
            if entry.get("use") not in (None, "sig"):
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(dict(entry), ALGORITHM).key
            except (jwt.PyJWTError, KeyError, ValueError):
                continue
        self._keys = keys
        self._fetched_at = self._monotonic()


def aiohttp_fetch(urls: Iterable[str] = ENTRA_KEYS_URLS, timeout: float = 10.0) -> Fetch:
    """Fetch JWKS documents over HTTPS with aiohttp (a session per fetch: it is rare), as one
    document holding every key of them."""
    addresses = tuple(urls)

    async def fetch() -> Mapping[str, Any]:
        import aiohttp

        keys: list[Any] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            for url in addresses:
                async with session.get(url) as response:
                    response.raise_for_status()
                    document: Mapping[str, Any] = await response.json()
                    keys += list(document.get("keys") or ())
        return {"keys": keys}

    return fetch


@dataclass
class LocalSigner:
    """Local use only: a key made at start signs tokens for sample people; its public half is the
    only key the local app accepts."""

    audience: str
    kid: str = field(default_factory=lambda: f"local-{secrets.token_hex(6)}")
    _private: rsa.RSAPrivateKey | None = None

    def _key(self) -> rsa.RSAPrivateKey:
        if self._private is None:
            self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._private

    async def key(self, kid: str) -> Any:
        return self._key().public_key() if kid == self.kid else None

    def mint(
        self,
        *,
        tenant_id: str,
        object_id: str,
        name: str,
        now: datetime,
        lifetime: timedelta = timedelta(hours=1),
    ) -> str:
        issued = int(now.astimezone(UTC).timestamp())
        claims = {
            "aud": self.audience,
            "iss": f"{LOCAL_ISSUER_PREFIX}{tenant_id}",
            "tid": tenant_id,
            "oid": object_id,
            "name": name,
            "scp": SCOPE,
            "ver": "2.0",
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(lifetime.total_seconds()),
        }
        return jwt.encode(claims, self._key(), algorithm=ALGORITHM, headers={"kid": self.kid})
