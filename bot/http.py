"""The HTTP edge: /api/messages, /healthz, /readyz. Bad input gets a clear 4xx, never a 500."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.logs import activity_id_var

log = logging.getLogger("escalation.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, detail: str) -> web.Response:
    return web.json_response({"error": detail}, status=status)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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


def check_activity(
    body: object, *, anonymous: bool, allowed_tenants: frozenset[str]
) -> web.Response | None:
    """Why an activity must not reach the bot, as a response; None when it may."""
    if not isinstance(body, dict):
        return problem(400, "the body must be a JSON object (a Bot Framework activity)")
    if not isinstance(body.get("type"), str) or not body["type"]:
        return problem(400, "the activity has no type")
    conversation = body.get("conversation")
    if (
        not isinstance(conversation, dict)
        or not isinstance(conversation.get("id"), str)
        or not conversation["id"]
    ):
        return problem(400, "the activity has no conversation id")
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url:
        # Without it botbuilder would send the reply to the public Bot Framework.
        return problem(400, "the activity has no serviceUrl")
    parts = urlsplit(service_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return problem(400, "the activity's serviceUrl is not an http(s) URL")
    if anonymous and not _is_loopback(parts.hostname):
        # Without authentication nothing proves who sent the activity: reply only on this machine.
        return problem(
            403, "without an app id the bot replies only to a serviceUrl on this machine"
        )
    if allowed_tenants:
        tenant = tenant_of(body)
        if tenant not in allowed_tenants:
            log.warning("refused an activity from tenant %s", tenant or "(none)")
            return problem(403, "this bot does not serve that tenant")
    return None


def messages_handler(
    process: Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]],
    *,
    anonymous: bool,
    allowed_tenants: frozenset[str],
) -> Handler:
    """Validate the request before botbuilder sees it, then hand it on."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return problem(415, "send the activity as application/json")
        if anonymous and request.headers.get("Authorization"):
            # A token sent to a bot with no app id: it cannot be checked, so it is refused.
            return problem(401, "this bot has no app id configured and accepts no tokens")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return problem(413, "the activity is too large")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return problem(400, "the body is not valid JSON")
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            activity_id_var.set(body["id"])
        refused = check_activity(body, anonymous=anonymous, allowed_tenants=allowed_tenants)
        if refused is not None:
            return refused
        try:
            return await process(request, body)
        except web.HTTPUnauthorized:
            log.warning("refused an activity without a valid Bot Framework token")
            return problem(401, "the request has no valid Bot Framework token")
        except web.HTTPException as exc:
            if exc.status >= 500:
                raise
            return problem(exc.status, exc.reason)

    return handle
