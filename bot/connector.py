"""Bot Framework authentication that reuses connector clients.

botbuilder builds a new `ConnectorClient` (and its msrest retry policy: about 7.5 ms of CPU on
the event loop) for every inbound activity. A client is safe to reuse for the same service URL,
app id and audience, so this wrapper keeps one per triple; credentials refresh their own tokens.
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


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(
        self, inner: ConnectorFactory, cache: dict[tuple[str, str, str], Any], app_id: str
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            self._cache[key] = client
        return client


class CachingBotFrameworkAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Delegates everything to botbuilder's own authentication; caches connector clients."""

    def __init__(self, inner: BotFrameworkAuthentication, *, max_clients: int = 256) -> None:
        self._inner = inner
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._max_clients = max_clients

    async def authenticate_request(
        self, activity: Any, auth_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_request(activity, auth_header)

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        if len(self._clients) > self._max_clients:  # service URLs are few; bound it anyway
            self._clients.clear()
        app_id = ""
        for claim in ("aud", "appid", "azp"):
            value = (
                claims_identity.claims.get(claim)
                if claims_identity and claims_identity.claims
                else None
            )
            if value:
                app_id = f"{claim}:{value}"
                break
        return _CachingConnectorFactory(
            self._inner.create_connector_factory(claims_identity), self._clients, app_id
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)
