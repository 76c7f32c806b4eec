"""Fixtures for the HTTP tests: the app with a stand-in Bot Connector, and people to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testkit import walk as whole_case
from testkit.chat import PEOPLE, Chat, running, settings_with
from testkit.walk import Walk


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    """The four people of a Redbridge disagreement, none of whom has opened the bot yet."""
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as started:
        yield started


@pytest.fixture
async def walk(tmp_path: Path) -> AsyncIterator[Walk]:
    """Everyone a Redbridge case reaches up to the Chair, each having opened the bot."""
    async with running(await settings_with(tmp_path, whole_case.PEOPLE), Walk) as w:
        for p in whole_case.PEOPLE:
            await w.say(p["id"], "hello")
        yield w
