"""The bot in the Microsoft 365 Agents Playground, driven in headless Chromium as a person would.

It runs `scripts/run_local.py` (what `./dev run` runs: the bot and one Playground per sample
person) on free ports with the sample directory, so it also checks that a newcomer's local run
starts, answers, and stops cleanly on SIGTERM; and it walks a whole Redbridge case to stage 3
across three people's Playgrounds, as the README tells a newcomer to. Screenshots and logs go to
artifacts/e2e/. Without Chromium, playwright, Node.js or the Playground this fails when CI is set,
and is skipped elsewhere.

The bot runs on the real clock, so the dates typed are 'today', never a fixed day. Questions are
answered by typing (a choice card takes a typed answer too), and every wait is bounded.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e import playground as pg

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


ALEX, MEGAN, PATTI = "Alex Wilber", "Megan Bowen", "Patti Fernandez"
CASE_ID = re.compile(r"\b[A-Z]{2,5}-\d{4}-[A-Z0-9]{4,8}\b")
RISK = "Risk to the adult"  # the heading every case card leads with

# (typed answer, words of the question that follows it), from "raise" to the summary.
ANSWERS = [
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
# A wrong answer typed first, before the right one: the same question must come back.
WRONG = {
    "NELFT NHS Foundation Trust": "Hogwarts Trust",  # no such agency
    "ASC-104233": "Jane Smith",  # a name, never the adult's case reference
    "today": "31/02/2026",  # no such day
}
# The whole walk, start-up and shut-down included, must end within this.
WALK_SECONDS = 240


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


@pytest.fixture
def browser(prerequisites: None) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = pg.launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def test_help_answers_in_the_playground(local: pg.LocalRun, page: Page) -> None:
    # One Playground per person of the mock tenant, on consecutive ports, the first as Alex.
    people = pg.playground_people()
    ports = [local.playground_port + n for n in range(people)]
    assert local.playground_ports == ports, local.playgrounds
    assert local.url_of("Alex Wilber") == local.playground_url
    # All listen on 127.0.0.1 only: not even another loopback address reaches them.
    for port in (local.bot_port, *ports):
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

    # Ctrl-C or SIGTERM stops the bot and every Playground, and the run ends cleanly.
    assert local.stop() == 0, local.output()
    assert not pg.accepts(local.bot_port), "the bot still listens after the stop"
    for port in ports:
        assert not pg.accepts(port), f"the Playground on {port} still listens after the stop"


def test_raise_by_typing_then_act_on_the_case_card(local: pg.LocalRun, page: Page) -> None:
    pg.open_playground(page, local.playground_url)
    pg.wait_for_text(page, "Raise a disagreement")
    for text, expect in ANSWERS:
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
    pg.wait_for_card_in(page, index, has="Record R1")  # the saved record, awaiting approval
    assert pg.bot_messages(page).nth(index).locator(pg.CARD).count() == 1  # replaced, not added
    pg.screenshot(page, "playground-card-replaced")


# --- a whole case, as the README walks it -------------------------------------------------------


def opened(browser: Browser, local: pg.LocalRun, name: str) -> Page:
    """A page on `name`'s Playground, once the bot has welcomed them there."""
    page = pg.new_page(browser)
    pg.open_playground(page, local.url_of(name))
    pg.wait_for_text(page, "Raise a disagreement")
    return page


def answer(page: Page, text: str, expect: str) -> int:
    before = pg.send(page, text)
    pg.wait_for_text(page, expect, after=before)
    return before


def asked_again(page: Page, wrong: str, question: str, next_question: str) -> None:
    """A wrong answer brings the same question back, and not the next one."""
    before = pg.send(page, wrong)
    pg.wait_for_text(page, question, after=before)
    pg.wait_until_quiet(page)
    said = [m.inner_text() for m in pg.bot_messages(page).all()[before:]]
    assert not any(next_question in text for text in said), (wrong, said)


def submit_form(page: Page, opener: str, fields: dict[str, str], *, submit: str) -> int:
    """Open the form behind the card button `opener` (in the last bot message that has it), fill
    it in and send it. Returns the message's number: the card is replaced there."""
    index = pg.click_card_button(page, opener)
    holder = pg.bot_messages(page).nth(index)
    for label, value in fields.items():
        if value:
            holder.get_by_label(label).fill(value)
        else:
            holder.get_by_label(label).check()
    # A form's button may carry its opener's title: the form's own comes after it.
    holder.get_by_role("button", name=submit, exact=True).last.click()
    return index


def test_a_whole_redbridge_case_to_stage_3_across_the_playgrounds(
    prerequisites: None, tmp_path: Path, browser: Browser
) -> None:
    started = time.monotonic()
    with pg.local_run(tmp_path, "playground-case") as local:
        walk(local, browser)
    assert time.monotonic() - started < WALK_SECONDS


def walk(local: pg.LocalRun, browser: Browser) -> None:
    # Each person's page is open before the bot writes to them: a Playground shows only what
    # arrives while its page is open.
    pages = {name: opened(browser, local, name) for name in (ALEX, MEGAN, PATTI)}
    try:
        steps(pages[ALEX], pages[MEGAN], pages[PATTI])
    finally:
        for name, page in pages.items():  # the final state, pass or fail
            pg.screenshot(page, f"case-last-{name.split()[0].lower()}")


def steps(alex: Page, megan: Page, patti: Page) -> None:
    # Alex raises by chat, with wrong answers on the way.
    for n, (text, expect) in enumerate(ANSWERS):
        if text in WRONG:
            asked_again(alex, WRONG[text], ANSWERS[n - 1][1], expect)
        answer(alex, text, expect)
    before = pg.send(alex, "yes")
    opening = pg.wait_for_text(alex, "is open", after=before).inner_text()
    found = CASE_ID.search(opening)
    assert found is not None, opening
    case_id = found.group(0)
    pg.wait_for_text(alex, RISK, after=before)
    pg.screenshot(alex, "case-1-raised")

    # Alex records the discussion on the case card: it did not resolve the disagreement.
    index = submit_form(
        alex,
        "Record discussion",
        {
            "Who took part": "Alex Wilber, Adele Vance",
            "Summary of the discussion": "Talked through the falls log; no agreement",
            "Not resolved: it needs escalating": "",
        },
        submit="Save the record",
    )
    pg.wait_for_card_in(alex, index, has="Record R1")  # saved, and awaiting approval

    # Megan, his line manager, finds the case by its id in her own Playground and approves.
    answer(megan, f"case {case_id}", "Approve record")
    index = pg.click_card_button(megan, "Approve record R1")
    pg.wait_for_card_in(megan, index, has=RISK, lacks="Approve record R1")
    pg.screenshot(megan, "case-2-approved")

    # Alex escalates to stage 2, from the case as it is now.
    answer(alex, f"case {case_id}", "Escalate to stage 2")
    megan_before = pg.wait_until_quiet(megan)
    index = submit_form(
        alex,
        "Escalate to stage 2",
        {"Why it needs escalating": "No agreement between the practitioners"},
        submit="Escalate to stage 2",
    )
    pg.wait_for_card_in(alex, index, has=RISK, lacks="Escalate to stage 2")

    # The stage-2 card reaches Megan in her Playground, not Alex's; she escalates to stage 3.
    card = pg.wait_for_text(megan, "Escalate to stage 3", after=megan_before)
    assert case_id in card.inner_text()
    patti_before = pg.wait_until_quiet(patti)
    index = submit_form(
        megan,
        "Escalate to stage 3",
        {"Why it needs escalating": "The line managers could not agree"},
        submit="Escalate to stage 3",
    )
    pg.wait_for_card_in(megan, index, has=RISK, lacks="Escalate to stage 3")
    pg.screenshot(megan, "case-3-escalated")

    # Stage 3's senior manager at Alex's agency is a Playground person: the card reaches her in
    # her own Playground, though she has never written to the bot (start-up wrote her chat).
    card = pg.wait_for_text(patti, case_id, after=patti_before)
    assert "Escalate to stage 4" in card.inner_text()
    pg.screenshot(patti, "case-4-senior-manager")

    # The business manager's copy arrives in the board's channel: Announcements, in Alex's
    # Playground, which start-up set for every board.
    pg.open_channel(alex, "Announcements")
    copy = pg.wait_for_card(alex, case_id).inner_text()
    assert "stage 3" in copy.lower(), copy
    assert "Escalate" not in copy, copy  # a copy, with nothing to act on
    pg.screenshot(alex, "case-5-business-manager-copy")
