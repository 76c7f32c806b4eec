"""Bot Framework authentication that reuses connector and token clients, and sends quickly.

For every inbound activity botbuilder builds a new `ConnectorClient` and a new user-token client,
each with its own msrest configuration: about 4 ms of CPU apiece on the event loop, measured by
`benchmarks/turns.py`. Both are safe to reuse for the same bot identity, service URL and
audience, so this wrapper keeps one of each; credentials refresh their own tokens.

Each connector client's `conversations` then sends the four requests a turn and the outbox make
(reply, send, update, create a conversation) itself (`FastConversations`): the same URL, headers,
token and JSON body as the client's msrest pipeline, written by `bot.wire` and sent on one
aiohttp session shared by every client, where msrest walks every model generically and sends
through `requests` on a thread. Any other operation, or one called with msrest options, is the
client's own.
"""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace
from typing import Any, Final
from urllib.parse import quote, urljoin

import aiohttp
from botbuilder.schema import (
    Activity,
    ConversationParameters,
    ConversationResourceResponse,
    ResourceResponse,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient
from yarl import URL

from bot.json_body import json_bytes
from bot.wire import from_json, to_json

ClientKey = tuple[str, str, str]
SEND_TIMEOUT = aiohttp.ClientTimeout(total=60)
# As the connector client's msrest retry policy: a connection error or one of these statuses is
# tried again, up to 3 times, after 0, 1.6 and 3.2 s.
RETRIES = 3
RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
RETRY_BACKOFF = 0.8


class ConnectorError(Exception):
    """The Bot Connector answered with an error status: `response` has its `status_code`,
    `headers` (Retry-After, for a 429) and `text`, as msrest's ErrorResponseException has."""

    def __init__(self, status: int, headers: dict[str, str], text: str) -> None:
        super().__init__(f"Operation returned an invalid status code {status}")
        self.response = SimpleNamespace(
            status_code=status, status=status, headers=headers, text=text, reason=""
        )


class SharedSession:
    """One aiohttp session for every connector client, made on first use, closed with the app."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=SEND_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class FastConversations:
    """A connector client's conversation operations, the usual four sent directly."""

    def __init__(self, client: ConnectorClient, session: SharedSession) -> None:
        self._inner = client.conversations
        self._config = client.config
        self._session = session
        self._url = ServiceUrl()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def reply_to_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options:
            return await self._inner.reply_to_activity(
                conversation_id, activity_id, activity, **options
            )
        path = f"/v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}"
        extra = {"x-ms-conversation-id": conversation_id}
        return await self._send("POST", path, to_json(activity), ResourceResponse, extra)

    async def send_to_conversation(
        self, conversation_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options:
            return await self._inner.send_to_conversation(conversation_id, activity, **options)
        path = f"/v3/conversations/{_q(conversation_id)}/activities"
        return await self._send("POST", path, to_json(activity), ResourceResponse)

    async def update_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options:
            return await self._inner.update_activity(
                conversation_id, activity_id, activity, **options
            )
        path = f"/v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}"
        return await self._send("PUT", path, to_json(activity), ResourceResponse)

    async def create_conversation(self, parameters: ConversationParameters, **options: Any) -> Any:
        if options:
            return await self._inner.create_conversation(parameters, **options)
        body = to_json(parameters)
        return await self._send("POST", "/v3/conversations", body, ConversationResourceResponse)

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        answer: type,
        extra: dict[str, str] | None = None,
    ) -> Any:
        url = self._url.join(self._config.base_url, path)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self._config.user_agent,
            **(extra or {}),
        }
        credentials = self._config.credentials
        if credentials is not None:
            signed = credentials.signed_session(SimpleNamespace(headers={}))
            if "Authorization" in signed.headers:
                headers["Authorization"] = signed.headers["Authorization"]
        data = json_bytes(body)
        # encoded=True: the path goes as quoted above, byte for byte (yarl would unquote a '!').
        target = URL(url, encoded=True)
        for attempt in range(RETRIES + 1):
            try:
                async with self._session.get().request(
                    method, target, data=data, headers=headers
                ) as r:
                    text = await r.text()
                    status, answer_headers = r.status, dict(r.headers)
            except aiohttp.ClientConnectionError:
                if attempt == RETRIES:
                    raise
            else:
                if status in (200, 201, 202):
                    break
                if status not in RETRY_STATUSES or attempt == RETRIES:
                    raise ConnectorError(status, answer_headers, text)
            await asyncio.sleep(RETRY_BACKOFF * 2**attempt if attempt else 0)
        found = json.loads(text) if text.strip() else None
        return None if found is None else from_json(answer, found)


# What quoting each path parameter whole leaves (quote(value, safe="")), and the slashes between.
_PLAIN_PATH: Final = re.compile(r"[A-Za-z0-9_.~%/-]+")


class ServiceUrl:
    """Paths joined to a service URL as msrest's ServiceClient.format_url joins them.

    The join's prefix is the same for every path made only of quoted parameters and slashes, with
    no dot or empty segment, so it is worked out once: urljoin took longer than the rest of a
    send's own work. Any other path is joined by urljoin itself."""

    def __init__(self) -> None:
        self._base: str | None = None
        self._prefix = ""

    def join(self, base_url: str, path: str) -> str:
        relative = path.lstrip("/")
        if not _PLAIN_PATH.fullmatch(relative) or any(
            s in ("", ".", "..") for s in relative.split("/")
        ):
            return urljoin(base_url + "/", relative)
        if base_url != self._base:
            self._base, self._prefix = base_url, urljoin(base_url + "/", "x")[:-1]
        return self._prefix + relative


def _q(value: str) -> str:
    """A path parameter, quoted as msrest's Serializer.url quotes it."""
    return quote(str(value), safe="")


def _app_key(claims_identity: ClaimsIdentity | None) -> str:
    """The bot identity the clients act for: the audience or app id claim of the request."""
    claims = claims_identity.claims if claims_identity and claims_identity.claims else {}
    for claim in ("aud", "appid", "azp"):
        if claims.get(claim):
            return f"{claim}:{claims[claim]}"
    return ""


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(
        self,
        inner: ConnectorFactory,
        cache: dict[ClientKey, Any],
        app_key: str,
        session: SharedSession,
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._app_key = app_key
        self._session = session

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_key, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            client.conversations = FastConversations(client, self._session)
            self._cache[key] = client
        return client


class CachingBotFrameworkAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Delegates everything to botbuilder's own authentication; caches the clients it builds."""

    def __init__(self, inner: BotFrameworkAuthentication, *, max_clients: int = 256) -> None:
        self._inner = inner
        self._clients: dict[ClientKey, Any] = {}
        self._token_clients: dict[str, UserTokenClient] = {}
        self._max_clients = max_clients
        self.session = SharedSession()

    def _caching(self, inner: ConnectorFactory, claims: ClaimsIdentity | None) -> ConnectorFactory:
        if len(self._clients) > self._max_clients:  # service URLs are few; bound it anyway
            self._clients.clear()
        return _CachingConnectorFactory(inner, self._clients, _app_key(claims), self.session)

    async def close(self) -> None:
        """Close the connection pool the connector clients send on (when the app stops)."""
        await self.session.close()

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
