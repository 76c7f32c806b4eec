"""The raise dialog as a busy practitioner meets it, over HTTP as Teams calls the bot: it never
says as done what has not happened, commands typed mid-dialog are not taken as answers, every
refusal ends with the question again, the date prompt's example is one it takes, and the case
card reaches the raiser once."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from cards.welcome import MY_CASES
from testkit.chat import (
    ANSWERS,
    PEOPLE,
    Chat,
    answer,
    cards,
    chat_settings,
    eventually,
    opened_case,
    running,
    says,
    settings_with,
)
from testkit.clocks import TEST_DAY_START, RunningClock
from testkit.connector import connector, serve
from tests.e2e.choices import submit

LEAD = {
    "id": "sita",
    "name": "Sita Gill",
    "agency": "redbridge-asc",
    "roles": ["safeguarding_lead"],
    "teams_user_id": "29:sita",
    "aad_object_id": "aad-sita",
}
WITH_LEAD = [*PEOPLE, LEAD]
# Redbridge at immediate risk (RB-4.1): only the issue and the risk are required.
IMMEDIATE = [
    *ANSWERS[:4],
    ("Eligibility criteria and access to services", "immediate risk"),
    ("yes", "child"),
    ("no", "What is the issue"),
    ("Community nursing declined a joint visit", "risk to the adult"),
    ("Further falls; lives alone", "disagree about"),
    ("skip", "aim to achieve"),
    ("skip", "evidence"),
    ("skip", "When did the disagreement arise"),
    ("yesterday", "Raise this disagreement now"),
]
RISK_QUESTION = "What is the risk to the adult?"
AT_RISK = next(i for i, (_, expect) in enumerate(ANSWERS) if expect == "risk to the adult") + 1
WILL_BE_TOLD = (
    "When you raise this, Lena Price (your line manager) and Sita Gill (your agency's designated "
    "safeguarding adult professional) will be told at once."
)


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    async with running(await settings_with(tmp_path, WITH_LEAD), Chat) as started:
        yield started


@asynccontextmanager
async def running_on(settings: AppSettings, start: datetime) -> AsyncIterator[Chat]:
    """As `running`, with the app's clock starting at `start`."""
    clock = RunningClock(start)
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=clock)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield Chat(url, stand_in, http, itertools.count(1), settings.storage, clock)


def to_amara(chat: Chat, since: int = 0) -> list[dict[str, Any]]:
    """The cards sent to Amara's chat since `since`."""
    return [
        a["content"]
        for s in chat.connector.sent[since:]
        if s.conversation_id == "a:chat-amara"
        for a in s.body.get("attachments") or []
    ]


def chats_started(chat: Chat) -> set[str]:
    """The Teams ids of the people the bot opened a chat with (to send them a case)."""
    return {
        member["id"]
        for s in chat.connector.sent
        if s.path == "/v3/conversations"
        for member in s.body.get("members") or []
    }


async def case_ids(chat: Chat) -> list[str]:
    storage = await open_storage(chat_settings(chat))
    try:
        return await storage.cases.case_ids()
    finally:
        await storage.close()


# -- 1. nothing is said as done before it is ---------------------------------------------------


@pytest.mark.clause("RB-4.1")
async def test_immediate_risk_says_who_will_be_told_and_cancel_tells_nobody(chat: Chat) -> None:
    for text, expect in IMMEDIATE[:5]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", "yes")
    assert says(replies, WILL_BE_TOLD), replies
    assert not any(re.search(r"ha(ve|s) been told|told now", r, re.I) for r in replies), replies

    assert await chat.say("amara", "cancel") == ["Cancelled. Nothing was saved."]
    await asyncio.sleep(0.3)  # several dispatch intervals: anything queued would have gone
    assert await case_ids(chat) == []
    assert {s.conversation_id for s in chat.connector.sent} == {"a:chat-amara"}


@pytest.mark.clause("RB-4.1")
async def test_once_raised_it_names_who_is_being_told_from_what_was_queued(chat: Chat) -> None:
    for text, expect in IMMEDIATE:
        await answer(chat, text, expect)
    before = len(chat.connector.sent)
    replies = await chat.say("amara", "yes")
    assert says(
        replies,
        "I am telling Lena Price (your line manager), Sita Gill (your agency's designated "
        "safeguarding adult professional) and Noah Okafor (the other professional) now, and "
        "sending you the case card here.",
    ), replies
    # Exactly those people's chats receive the case: none of them had talked to the bot.
    await eventually(lambda: len(chats_started(chat)) == 3)
    assert chats_started(chat) == {"29:lena", "29:sita", "29:noah"}
    # And the raiser's chat gets the case card once.
    await eventually(lambda: bool(to_amara(chat, before)))
    await asyncio.sleep(0.3)
    [card] = to_amara(chat, before)
    assert "Further falls; lives alone" in str(card)


@pytest.mark.clause("RB-4.1")
async def test_someone_the_bot_cannot_reach_is_named_for_the_raiser_to_contact(
    tmp_path: Path,
) -> None:
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as chat:  # no lead listed
        for text, expect in IMMEDIATE[:5]:
            await answer(chat, text, expect)
        replies = await chat.say("amara", "yes")
        assert says(replies, "When you raise this, Lena Price (your line manager) will be told")
        assert says(
            replies,
            "I have nobody in my directory as your agency's designated safeguarding adult "
            "professional",
        ), replies
        for text, expect in IMMEDIATE[6:]:
            await answer(chat, text, expect)
        replies = await chat.say("amara", "yes")
        assert says(
            replies, "I am telling Lena Price (your line manager) and Noah Okafor (the other"
        ), replies
        assert says(replies, "contact them yourself"), replies


# -- 4. commands, help and skip mid-dialog -----------------------------------------------------


@pytest.mark.parametrize(
    "command", ["cases", "my cases", "Profile", "summary", "raise", "case RB-2026-ABC234"]
)
async def test_a_command_mid_dialog_is_not_taken_as_the_answer(chat: Chat, command: str) -> None:
    for text, expect in ANSWERS[:AT_RISK]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", command)
    assert says(replies, "you are in the middle of raising a disagreement"), replies
    assert RISK_QUESTION in replies[-1], replies  # the question again, last
    for text, expect in ANSWERS[AT_RISK:]:
        await answer(chat, text, expect)
    case = await opened_case(chat)
    assert case.details["risk_to_adult"] == "Further falls; lives alone"


async def test_a_welcome_card_button_mid_dialog_is_not_taken_as_the_answer(chat: Chat) -> None:
    for text, expect in ANSWERS[:AT_RISK]:
        await answer(chat, text, expect)
    replies = await submit(chat, "amara", {"verb": MY_CASES})
    assert says(replies, "you are in the middle of raising a disagreement"), replies
    assert RISK_QUESTION in replies[-1], replies
    replies = await chat.say("amara", "Further falls; lives alone")
    assert says(replies, "disagree about"), replies


@pytest.mark.parametrize(
    ("answered", "question"),
    [
        (1, "Which agency is the other professional in?"),  # a choice card
        (2, "Who is the other professional?"),  # the people picker
        (4, "What is it about?"),
        (5, "Is the adult at immediate risk of significant harm?"),  # yes or no
        (AT_RISK, RISK_QUESTION),  # typed text
        (len(ANSWERS) - 1, "When did the disagreement arise"),
    ],
)
async def test_help_mid_dialog_asks_the_question_again(
    chat: Chat, answered: int, question: str
) -> None:
    for text, expect in ANSWERS[:answered]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", "help")
    assert says(replies, "nothing is saved until you confirm"), replies
    assert question in replies[-1], replies
    text, expect = ANSWERS[answered]
    await answer(chat, text, expect)  # the answer still goes to that question


@pytest.mark.parametrize(
    ("answered", "question"),
    [
        (AT_RISK, RISK_QUESTION),
        (5, "Is the adult at immediate risk of significant harm?"),
        (3, "case reference"),
    ],
)
async def test_skip_is_refused_where_the_question_offers_none(
    chat: Chat, answered: int, question: str
) -> None:
    for text, expect in ANSWERS[:answered]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", "skip")
    assert says(replies, "This question cannot be skipped"), replies
    assert question in replies[-1], replies


async def test_a_required_answer_is_never_a_placeholder(chat: Chat) -> None:
    for text, expect in ANSWERS[:AT_RISK]:
        await answer(chat, text, expect)
    for placeholder in ("n/a", "none", "-"):
        replies = await chat.say("amara", placeholder)
        assert says(replies, "Risk to adult is needed: this question cannot be skipped"), replies
        assert RISK_QUESTION in replies[-1], replies
    for text, expect in ANSWERS[AT_RISK:]:
        await answer(chat, text, expect)
    case = await opened_case(chat)
    assert case.details["risk_to_adult"] == "Further falls; lives alone"


async def test_skip_is_taken_where_the_question_offers_it(chat: Chat) -> None:
    for text, expect in IMMEDIATE:
        await answer(chat, text, expect)
    case = await opened_case(chat)
    assert case.details.get("aim", "") == "" and case.details.get("evidence", "") == ""


async def test_every_refused_answer_ends_with_the_question(chat: Chat) -> None:
    for text, expect in ANSWERS[:AT_RISK]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", "x" * 4400)
    assert says(replies, "4400 characters; at most 4000"), replies
    assert RISK_QUESTION in replies[-1], replies
    for text, expect in ANSWERS[AT_RISK:-1]:
        await answer(chat, text, expect)
    for wrong in ("31/02/2026", "next week", chat.clock.day(3)):
        replies = await chat.say("amara", wrong)
        assert len(replies) >= 2 and "When did the disagreement arise" in replies[-1], replies


# -- 5. the date prompt's example is always one it takes ---------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        TEST_DAY_START,
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC),  # the example used to be 24/12, "in the future"
        datetime(2027, 1, 1, 11, 0, tzinfo=UTC),
    ],
)
async def test_the_date_prompt_takes_its_own_example(tmp_path: Path, start: datetime) -> None:
    async with running_on(await settings_with(tmp_path, WITH_LEAD), start) as chat:
        for text, expect in ANSWERS[:-1]:
            replies = await answer(chat, text, expect)
        [example] = re.findall(r"\d{2}/\d{2}/\d{4}", replies[-1])
        typed = datetime.strptime(example, "%d/%m/%Y").date()
        assert typed <= chat.clock().date()
        await answer(chat, example, "Raise this disagreement now")
        case = await opened_case(chat)
        assert case.disagreement_date == typed


# -- 6. the case card reaches the raiser once ----------------------------------------------------


async def test_the_raiser_gets_the_case_card_once(chat: Chat) -> None:
    await chat.say("noah", "hello")  # Noah's chat is known, so his copy goes there
    for text, expect in ANSWERS:
        await answer(chat, text, expect)
    before = len(chat.connector.sent)
    replies = await chat.say("amara", "yes")
    assert says(replies, "sending you the case card here"), replies
    await eventually(
        lambda: bool(to_amara(chat, before)) and bool(cards(chat.connector, "a:chat-noah"))
    )
    await asyncio.sleep(0.3)  # several dispatch intervals: a second copy would have come
    [card] = to_amara(chat, before)
    assert "You raised this disagreement" in str(card)


async def test_help_at_the_pickers_yes_or_no_asks_that_again(chat: Chat) -> None:
    for text, expect in ANSWERS[:2]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", "noah")
    assert says(replies, "Noah Okafor — is that right? (yes or no)"), replies
    replies = await chat.say("amara", "help")
    assert "Noah Okafor — is that right? (yes or no)" in replies[-1], replies
    replies = await answer(chat, "yes", "case reference")
    assert says(replies, "The other professional: Noah Okafor"), replies
