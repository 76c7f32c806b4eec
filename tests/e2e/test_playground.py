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
    # Opening the page installs the app again; the bot greets with its welcome card.
    welcome = pg.wait_for_text(page, "Raise a disagreement")
    assert "Redbridge" in welcome.inner_text() and "Harrow" not in welcome.inner_text()
    pg.screenshot(page, "playground-welcome")

    before = pg.send(page, "help")
    reply = pg.wait_for_text(page, "professional disagreements", after=before)
    assert "raise" in reply.inner_text()
    pg.screenshot(page, "playground-help")

    # Ctrl-C or SIGTERM stops the bot and the Playground, and the run ends cleanly.
    assert local.stop() == 0, local.output()
    assert not pg.accepts(local.bot_port), "the bot still listens after the stop"
    assert not pg.accepts(local.playground_port), "the Playground still listens after the stop"


def test_raise_by_typing_then_act_on_the_case_card(local: pg.LocalRun, page: Page) -> None:
    pg.open_playground(page, local.playground_url)
    pg.wait_for_text(page, "Raise a disagreement")
    answers = [
        ("raise", "Which agency"),
        ("NELFT NHS Foundation Trust", "Who is the other professional"),
        ("Adele Vance", "case reference"),
        ("ASC-104233", "What is it about"),
        ("Eligibility criteria and access to services", "immediate risk"),
        ("no", "child"),
        ("no", "What is the issue"),
        ("Community nursing declined a joint visit", "risk to the adult"),
        ("Falls at home; lives alone", "disagree about"),
        ("Whether a joint visit is needed", "aim to achieve"),
        ("A joint visit within a week", "evidence"),
        ("GP letter of 27 November", "When did the disagreement arise"),
        ("today", "Raise this disagreement now"),
    ]
    for text, expect in answers:
        before = pg.send(page, text)
        pg.wait_for_text(page, expect, after=before)
    before = pg.send(page, "yes")
    pg.wait_for_text(page, "is open", after=before)
    card = pg.wait_for_text(page, "Risk to the adult", after=before)
    assert "Falls at home; lives alone" in card.inner_text()
    pg.screenshot(page, "playground-case-card")

    # Record a discussion from the card: the card is replaced in place with the saved record.
    index = pg.click_card_button(page, "Record discussion")
    holder = pg.bot_messages(page).nth(index)
    holder.get_by_label("Who took part").fill("Alex Wilber, Adele Vance")
    holder.get_by_label("Summary of the discussion").fill("Talked through the falls log")
    holder.get_by_label("Continuing: we will talk again").check()
    pg.screenshot(page, "playground-record-form")
    holder.get_by_role("button", name="Save the record", exact=True).click()
    pg.wait_for_text(page, "Your record of the discussion is saved", after=index)
    assert pg.bot_messages(page).nth(index).locator(pg.CARD).count() == 1  # replaced, not added
    pg.screenshot(page, "playground-card-replaced")
