"""bootstrap.event_loop: uvloop's loop where uvloop is installed, asyncio's own where it is not
(Windows, for which it is not built)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bootstrap import event_loop


def test_the_loop_is_uvloops_where_it_is_installed() -> None:
    loop = event_loop.new_event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()


def test_the_loop_is_asyncios_where_uvloop_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else found(name, *a)
    )
    loop = event_loop.new_event_loop()
    try:
        assert isinstance(loop, asyncio.BaseEventLoop)
        assert not type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
