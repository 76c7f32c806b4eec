"""A local stand-in for the Bot Connector: records what the bot sends, answers as Teams would."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Sent:
    method: str
    path: str
    conversation_id: str
    body: dict[str, Any]
    authorization: str | None


@dataclass
class Connector:
    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    # Per conversation, answers to give before succeeding: (status, headers), e.g.
    # (429, {"Retry-After": "1"}).
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    # Conversations whose user removed the app: Teams answers 403 for them.
    gone: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def texts(self, conversation_id: str | None = None) -> list[str]:
        return [
            str(s.body.get("text", ""))
            for s in self.sent
            if conversation_id is None or s.conversation_id == conversation_id
        ]

    def attachments(self) -> list[dict[str, Any]]:
        return [a for s in self.sent for a in s.body.get("attachments") or []]

    async def _record(self, request: web.Request) -> web.Response:
        if request.match_info.get("conversation_id") in self.gone:
            return web.json_response({"error": {"code": "BotNotInConversationRoster"}}, status=403)
        pending = self.failures.get(request.match_info.get("conversation_id", ""))
        if pending:
            status, headers = pending.pop(0)
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=status, headers=headers
            )
        body = await request.json()
        conversation_id = request.match_info.get("conversation_id", "")
        if request.path == "/v3/conversations":
            conversation_id = f"created-{next(self._ids)}"
        self.sent.append(
            Sent(
                request.method,
                request.path,
                conversation_id,
                body,
                request.headers.get("Authorization"),
            )
        )
        if request.path == "/v3/conversations":
            return web.json_response({"id": conversation_id, "activityId": f"a{next(self._ids)}"})
        return web.json_response({"id": f"a{next(self._ids)}"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._record)
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._record)
        app.router.add_post(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._record
        )
        app.router.add_put(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._record
        )
        return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app on 127.0.0.1 on a free port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def connector() -> AsyncIterator[Connector]:
    stand_in = Connector()
    async with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in
