"""A whole conversation over HTTP: raise by chatting, see the case card, act on it, and the
other professional hears of it through the outbox — as Teams would call the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from testkit.chat import (
    ANSWERS,
    PEOPLE,
    Chat,
    answer,
    card_text,
    cards,
    eventually,
    running,
    settings_with,
)


@pytest.mark.clause("RB-4.2", "RB-4.4", "RB-1.4")
async def test_raise_by_chatting_then_act_on_the_card(chat: Chat) -> None:
    await chat.say("noah", "hello")  # Noah has opened the bot, so it can reach him later
    for text, expect in ANSWERS:
        await answer(chat, text, expect)
    before = len(chat.connector.sent)
    replies = await chat.say("amara", "yes")
    assert any("is open" in r for r in replies), replies
    assert any("Noah Okafor (the other professional)" in r for r in replies), replies

    def shown() -> list[dict[str, Any]]:
        return [
            a["content"]
            for s in chat.connector.sent[before:]
            if s.conversation_id == "a:chat-amara"
            for a in s.body.get("attachments") or []
        ]

    # The case card reaches the raiser once: through the outbox, saved with the case (so a lost
    # reply loses nothing), and not also as the reply. Noah's copy goes in the same dispatch.
    await eventually(lambda: bool(shown()) and bool(cards(chat.connector, "a:chat-noah")))
    await asyncio.sleep(0.3)  # several dispatch intervals: a second copy would have come by now
    [card] = shown()
    # The card leads with the risk to the adult (RB-1.4).
    assert "Risk to the adult" in card_text({"body": card["body"][:1]})
    assert "Further falls; lives alone" in card_text(card)
    case_id = next(w for w in card_text(card).split() if w.startswith("RB-20"))
    case_id = case_id.strip(".,:;()")

    # The other professional hears of it in his own chat, through the outbox.
    await eventually(lambda: bool(cards(chat.connector, "a:chat-noah")))
    [to_noah] = cards(chat.connector, "a:chat-noah")
    assert case_id in card_text(to_noah)

    # Noah records the discussion from his card: the card is replaced in place.
    version = int(to_noah["refresh"]["action"]["data"]["version"]) if "refresh" in to_noah else None
    assert version is not None
    status, response = await chat.invoke(
        "noah",
        "record",
        {
            "case_id": case_id,
            "version": version,
            "verb": "record",
            "record.held_date": chat.clock.day(-1),
            "record.held_time": "10:00",
            "record.method": "phone",
            "record.participants": "Amara Osei, Noah Okafor",
            "record.summary": "Talked it through",
            "record.points_of_difference": "Timing",
            "record.outcome": "continuing",
        },
    )
    assert status == 200 and response["statusCode"] == 200
    assert response["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Talked it through" in card_text(response["value"]) or "R1" in card_text(
        response["value"]
    )

    # The same card clicked again (an old version) changes nothing and says why.
    status, stale = await chat.invoke(
        "noah",
        "record",
        {
            "case_id": case_id,
            "version": version,
            "verb": "record",
            "record.held_date": chat.clock.day(-1),
            "record.held_time": "10:00",
            "record.participants": "x",
            "record.summary": "again",
            "record.outcome": "continuing",
        },
    )
    assert status == 200 and "changed since you saw it" in card_text(stale["value"])

    # Noah's line manager sees the case (she answers for his clocks) but may not escalate it at
    # stage 1: only the practitioners may.
    status, refused = await chat.invoke(
        "nadia",
        "escalate",
        {"case_id": case_id, "version": version + 2, "verb": "escalate", "escalate.reason": "x"},
    )
    assert status == 200
    assert "You do not hold a role that may escalate this case" in card_text(refused["value"])


async def test_help_and_cancel_work_inside_the_dialog(chat: Chat) -> None:
    await chat.say("amara", "raise")
    replies = await chat.say("amara", "help")
    assert any("nothing is saved until you confirm" in r.lower() for r in replies)
    replies = await chat.say("amara", "cancel")
    assert replies == ["Cancelled. Nothing was saved."]
    replies = await chat.say("amara", "cases")
    assert replies == ["You have no open cases."]


async def test_bad_answers_are_asked_again(chat: Chat) -> None:
    for text in ("raise", "NELFT NHS Foundation Trust", "Noah Okafor"):
        await chat.say("amara", text)
    replies = await chat.say("amara", "Margaret Anne Smith")
    assert any("not the adult's name" in r for r in replies)
    replies = await chat.say("amara", "ASC-1")
    assert any("What is it about" in r for r in replies)


async def test_a_card_action_for_a_case_that_does_not_exist(chat: Chat) -> None:
    status, response = await chat.invoke(
        "amara",
        "approve_record",
        {"case_id": "RB-2026-NOPE00", "version": 1, "verb": "approve_record", "record_id": "R1"},
    )
    assert status == 200 and "no case" in card_text(response["value"]).lower()
    status, response = await chat.invoke("amara", "escalate", {"verb": "escalate"})
    assert status == 200 and "does not name a case" in card_text(response["value"])


async def test_a_half_finished_dialog_survives_a_restart(tmp_path: Path) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    async with running(settings, Chat) as before:
        await before.say("amara", "raise")
        replies = await before.say("amara", "NELFT NHS Foundation Trust")
        assert any("Who is the other professional" in r for r in replies)
    # The app stops (a deploy, a crash) and a new one starts on the same storage.
    async with running(settings, Chat, start=100) as after:
        replies = await after.say("amara", "Noah Okafor")
        assert any("case reference" in r for r in replies), replies


@pytest.mark.clause("RB-1.5")
async def test_raising_against_your_own_manager_shows_the_whistle_blowing_signpost(
    tmp_path: Path,
) -> None:
    # Your own agency is never offered as the other one, so this is someone seconded to adult
    # social care whose line manager is at NELFT (an integrated team).
    seconded = {
        "id": "sami",
        "name": "Sami Reid",
        "agency": "redbridge-asc",
        "roles": ["practitioner"],
        "line_manager": "nadia",
        "teams_user_id": "29:sami",
        "aad_object_id": "aad-sami",
    }
    async with running(await settings_with(tmp_path, [*PEOPLE, seconded]), Chat) as chat:
        for text in ("raise", "NELFT NHS Foundation Trust"):
            await chat.say("sami", text)
        replies = await chat.say("sami", "Nadia Khan")  # Sami's own line manager
        assert any("That is your own line manager." in r for r in replies)
        signpost = card_text(cards(chat.connector, "a:chat-sami")[-1])
        assert "whistle-blowing" in signpost
        assert await chat.say("sami", "cases") == ["You have no open cases."]  # none opened


@pytest.mark.clause("RB-1.5")
async def test_someone_not_on_teams_is_not_taken_for_the_missing_manager_of_the_raiser(
    chat: Chat,
) -> None:
    # Lena's entry names no line manager, and the other professional has no directory id.
    for text in ("raise", "NELFT NHS Foundation Trust", "not on Teams", "Jo Bloggs, agency nurse"):
        await chat.say("lena", text)
    replies = await chat.say("lena", "jo.bloggs@agency.example")
    assert not any("own line manager" in r for r in replies), replies
    assert any("case reference" in r for r in replies), replies


@pytest.mark.clause("RB-1.6")
async def test_a_child_concern_shows_the_mash_card_with_its_contact(chat: Chat) -> None:
    for text in (
        "raise",
        "NELFT NHS Foundation Trust",
        "Noah Okafor",
        "ASC-104233",
        "Eligibility criteria and access to services",
        "no",
    ):
        await chat.say("amara", text)
    await chat.say("amara", "yes")  # a child in the household
    mash = card_text(cards(chat.connector, "a:chat-amara")[-1])
    assert "Multi-Agency Safeguarding Hub" in mash and "CPAT.Referrals@redbridge.gov.uk" in mash
    # Its message says what it is in the chat list and a notification, not "Sent a card".
    [*_, sent] = [
        s
        for s in chat.connector.sent
        if s.conversation_id == "a:chat-amara" and s.body.get("attachments")
    ]
    assert sent.body["summary"].startswith("A concern about a child or young person.")
