"""Connector and token clients are built once per bot identity and service URL, not per turn."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from app import ADAPTER, create_app
from bot.connector import CachingBotFrameworkAuthentication
from bot.settings import AppSettings
from storage.settings import StorageSettings
from testkit.connector import connector, serve


def message(service_url: str, n: int) -> dict[str, object]:
    return {
        "type": "message",
        "id": f"m{n}",
        "text": "help",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:u"},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": "a:c"},
    }


async def test_clients_are_reused_across_turns(tmp_path: Path) -> None:
    app = create_app(AppSettings(storage=StorageSettings(None, tmp_path / "data")))
    auth = app[ADAPTER].bot_framework_authentication
    assert isinstance(auth, CachingBotFrameworkAuthentication)
    async with connector() as stand_in, serve(app) as url, aiohttp.ClientSession() as http:
        for n in range(5):
            async with http.post(url + "/api/messages", json=message(stand_in.url, n)) as r:
                assert r.status == 201
        assert len(stand_in.sent) == 5
        assert len(auth._clients) == 1
        assert len(auth._token_clients) == 1
