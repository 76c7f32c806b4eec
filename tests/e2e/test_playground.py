"""The bot in the Microsoft 365 Agents Playground, driven in headless Chromium as a person would.

It runs `scripts/run_local.py` (what `./dev run` runs) on free ports with the sample directory, so
it also checks that a newcomer's local run starts, answers, and stops cleanly on SIGTERM.
Screenshots and logs go to artifacts/e2e/. Without Chromium, playwright, Node.js or the
Playground this fails when CI is set, and is skipped elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e import playground as pg

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def prerequisites() -> None:
    missing = pg.missing_prerequisites()
    if missing:
        message = "the browser test needs " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def local(prerequisites: None, tmp_path: Path) -> Iterator[pg.LocalRun]:
    with pg.local_run(tmp_path, "playground") as run:
        yield run


@pytest.fixture
def page(prerequisites: None, request: pytest.FixtureRequest) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = pg.launch(playwright)
        try:
            page = pg.new_page(browser)
            yield page
            pg.screenshot(page, f"{request.node.name}-last")  # the final state, pass or fail
        finally:
            browser.close()


def test_help_answers_in_the_playground(local: pg.LocalRun, page: Page) -> None:
    # Both listen on 127.0.0.1 only: not even another loopback address reaches them.
    for port in (local.bot_port, local.playground_port):
        assert pg.accepts(port)
        assert not pg.accepts(port, "127.0.0.2"), f"port {port} listens beyond 127.0.0.1"

    pg.open_playground(page, local.playground_url)
    # Opening the page installs the app again; the bot greets.
    pg.wait_for_text(page, "professional disagreements")
    pg.screenshot(page, "playground-welcome")

    before = pg.send(page, "help")
    reply = pg.wait_for_text(page, "professional disagreements", after=before)
    assert "raise" in reply.inner_text()
    pg.screenshot(page, "playground-help")

    # Ctrl-C or SIGTERM stops the bot and the Playground, and the run ends cleanly.
    assert local.stop() == 0, local.output()
    assert not pg.accepts(local.bot_port), "the bot still listens after the stop"
    assert not pg.accepts(local.playground_port), "the Playground still listens after the stop"
