"""The HTTP edge: /api/messages (other routes: bot/routes.py). Bad input gets a 4xx, never a 500.

An activity passes, in order: the Authorization header (before the body is read, so an anonymous
caller learns nothing), its content type and size, its JSON and shape (bot.activity_shape), its
serviceUrl, botbuilder's token check, and only then the tenant allow-list, so that which tenants
are served is told only to a caller the Bot Framework vouches for. Log lines name the field or
the error type, never what was sent.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
import requests
from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.core import Bot, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult
from msrest.serialization import Model

from bot.activity_shape import ShapeError, check_activity, parse_body
from bot.json_body import JsonAnswer, json_bytes
from bot.logs import activity_id_var
from bot.wire import from_json, to_json

log = logging.getLogger("escalation.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What an activity id looks like, for the logs' activity_id; anything else is not logged.
_LOGGABLE_ID = re.compile(r"[A-Za-z0-9:;@._|=+/-]{1,128}")


def problem(status: int, detail: str, field: str | None = None) -> web.Response:
    body = {"error": detail}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


@functools.lru_cache(maxsize=64)  # every activity asks, of the few hosts replies go to
def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def has_bearer_token(header: str | None) -> bool:
    """Whether an Authorization header is `Bearer <something>`: the only kind botbuilder checks."""
    scheme, _, token = (header or "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def tenant_of(body: dict[str, Any]) -> str | None:
    channel_data = body.get("channelData")
    if isinstance(channel_data, dict):
        tenant = channel_data.get("tenant")
        if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
            return str(tenant["id"])
    conversation = body.get("conversation")
    if isinstance(conversation, dict) and isinstance(conversation.get("tenantId"), str):
        return str(conversation["tenantId"])
    return None


def _loggable_tenant(tenant: str | None) -> str:
    """A tenant id is a GUID; anything else the sender wrote stays out of the logs."""
    if tenant is None:
        return "(none)"
    try:
        return str(uuid.UUID(tenant))
    except ValueError:
        return "(not a GUID)"


def check_service_url(body: dict[str, Any], *, anonymous: bool) -> web.Response | None:
    """Why the activity's serviceUrl (where replies go) is refused; None when it may be used."""
    try:
        parts = urlsplit(body["serviceUrl"])
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        return problem(400, "the activity's serviceUrl is not an http(s) URL", "serviceUrl")
    if anonymous and not _is_loopback(host):
        # Without authentication nothing proves who sent the activity: reply only on this machine.
        return problem(
            403, "without an app id the bot replies only to a serviceUrl on this machine"
        )
    return None


class Turns(Protocol):
    """What the edge hands a checked activity to: the token check, then the bot's turn."""

    async def authenticate(self, request: web.Request, activity: Activity) -> Any:
        """The proof of who sent it; raises web.HTTPUnauthorized when there is none."""

    async def run(self, authenticated: Any, activity: Activity) -> web.StreamResponse:
        """The bot's turn; its answer (an invoke response, or 201)."""


class BotTurns:
    """botbuilder's own token check and turn, as CloudAdapter.process runs them, in two steps so
    the edge can check the tenant in between."""

    def __init__(self, adapter: CloudAdapter, bot: Callable[[], Bot]) -> None:
        self.adapter = adapter
        self.bot = bot  # made at start-up, after the routes

    async def authenticate(
        self, request: web.Request, activity: Activity
    ) -> AuthenticateRequestResult:
        header = request.headers.get("Authorization", "")
        auth = self.adapter.bot_framework_authentication
        try:
            return await auth.authenticate_request(activity, header)
        except (PermissionError, jwt.PyJWTError):
            raise web.HTTPUnauthorized() from None
        except (requests.RequestException, OSError) as exc:
            # The Bot Framework's signing keys could not be fetched. Not validated: refused.
            log.error("could not validate a Bot Framework token: %s", type(exc).__name__)
            raise web.HTTPUnauthorized() from None
        except Exception as exc:  # botbuilder raises bare Exception for some tokens (e.g. alg)
            log.warning("a Bot Framework token failed its check: %s", type(exc).__name__)
            raise web.HTTPUnauthorized() from None

    async def run(
        self, authenticated: AuthenticateRequestResult, activity: Activity
    ) -> web.StreamResponse:
        # Turn errors are handled inside the turn (the adapter's on_turn_error).
        response = await self.adapter.process_activity(authenticated, activity, self.bot().on_turn)
        if response is None:
            return web.Response(status=201)
        if response.status == HTTPStatus.NOT_IMPLEMENTED:
            # botbuilder's answer to an invoke this bot does not handle: the client asked for
            # something that is not here, which is a 4xx, never a fault of the server.
            return problem(400, "this bot does not handle that kind of invoke", "name")
        body = response.body
        if isinstance(body, JsonAnswer):
            answer = body.value
        elif isinstance(body, Model):
            answer = to_json(body, serializer_helper)
        else:
            answer = serializer_helper(body)
        return web.Response(
            body=json_bytes(answer),
            status=response.status,
            content_type="application/json",
            charset="utf-8",
        )


def messages_handler(turns: Turns, *, anonymous: bool, allowed_tenants: frozenset[str]) -> Handler:
    """Check the request before botbuilder sees it, then hand it on."""

    async def handle(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization")
        if anonymous and header:
            # A token sent to a bot with no app id: it cannot be checked, so it is refused.
            return problem(401, "this bot has no app id configured and accepts no tokens")
        if not anonymous and not has_bearer_token(header):
            return problem(401, "the request has no Bot Framework token")
        if request.content_type != "application/json":
            return problem(415, "send the activity as application/json")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return problem(413, "the activity is too large")
        try:
            body = parse_body(raw)
            check_activity(body)
        except ShapeError as exc:
            log.info("refused a malformed activity: field %s", exc.field or "(the body)")
            return problem(400, str(exc), exc.field or None)
        assert isinstance(body, dict)  # check_activity refuses anything else
        refused = check_service_url(body, anonymous=anonymous)
        if refused is not None:
            return refused
        try:
            activity = from_json(Activity, body)  # as msrest reads it (bot.wire)
        except DeserializationError:  # the shape check should have refused it first
            log.warning("refused an activity botbuilder could not read")
            return problem(400, "the activity could not be read")
        try:
            authenticated = await turns.authenticate(request, activity)
        except web.HTTPUnauthorized:
            log.warning("refused an activity without a valid Bot Framework token")
            return problem(401, "the request has no valid Bot Framework token")
        if allowed_tenants:
            tenant = tenant_of(body)
            if tenant not in allowed_tenants:
                log.warning("refused an activity from tenant %s", _loggable_tenant(tenant))
                return problem(403, "this bot does not serve that tenant")
        if isinstance(body.get("id"), str) and _LOGGABLE_ID.fullmatch(body["id"]):
            activity_id_var.set(body["id"])
        try:
            return await turns.run(authenticated, activity)
        except web.HTTPException as exc:
            if exc.status >= 500:
                raise
            return problem(exc.status, exc.reason)

    return handle
