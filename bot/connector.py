"""Bot Framework authentication that reuses connector and token clients.

For every inbound activity botbuilder builds a new `ConnectorClient` and a new user-token client,
each with its own msrest configuration: about 4 ms of CPU apiece on the event loop, measured by
`benchmarks/turns.py`. Both are safe to reuse for the same bot identity, service URL and
audience, so this wrapper keeps one of each; credentials refresh their own tokens.
"""

from __future__ import annotations

from typing import Any

from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

ClientKey = tuple[str, str, str]


def _app_key(claims_identity: ClaimsIdentity | None) -> str:
    """The bot identity the clients act for: the audience or app id claim of the request."""
    claims = claims_identity.claims if claims_identity and claims_identity.claims else {}
    for claim in ("aud", "appid", "azp"):
        if claims.get(claim):
            return f"{claim}:{claims[claim]}"
    return ""


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: ConnectorFactory, cache: dict[ClientKey, Any], app_key: str) -> None:
        self._inner = inner
        self._cache = cache
        self._app_key = app_key

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_key, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            self._cache[key] = client
        return client


class CachingBotFrameworkAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Delegates everything to botbuilder's own authentication; caches the clients it builds."""

    def __init__(self, inner: BotFrameworkAuthentication, *, max_clients: int = 256) -> None:
        self._inner = inner
        self._clients: dict[ClientKey, Any] = {}
        self._token_clients: dict[str, UserTokenClient] = {}
        self._max_clients = max_clients

    def _caching(self, inner: ConnectorFactory, claims: ClaimsIdentity | None) -> ConnectorFactory:
        if len(self._clients) > self._max_clients:  # service URLs are few; bound it anyway
            self._clients.clear()
        return _CachingConnectorFactory(inner, self._clients, _app_key(claims))

    async def authenticate_request(
        self, activity: Any, auth_header: str
    ) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        # The inbound path builds its connector factory here, not in create_connector_factory.
        if result.connector_factory is not None:
            result.connector_factory = self._caching(
                result.connector_factory, result.claims_identity
            )
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._caching(self._inner.create_connector_factory(claims_identity), claims_identity)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = _app_key(claims_identity)
        client = self._token_clients.get(key)
        if client is None:
            if len(self._token_clients) > self._max_clients:
                self._token_clients.clear()
            client = await self._inner.create_user_token_client(claims_identity)
            self._token_clients[key] = client
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)
