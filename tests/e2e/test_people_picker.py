"""Choosing the other professional by directory id, over HTTP as Teams calls the bot: the
typeahead card and its `application/search` invoke, typed search in the chat, two people of one
name, the impostor whose display name is a real person's, and the agency and category questions
with every choice whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bootstrap.build import open_storage
from escalation.case import Case
from escalation.packs import PackRegistry
from storage.settings import StorageSettings
from testkit.chat import (
    ANSWERS,
    PEOPLE,
    Chat,
    answer,
    opened_case,
    running,
    says,
    settings_with,
)
from tests.e2e.choices import choose, last_choice_set, search, submit

SEARCH_RESPONSE = "application/vnd.microsoft.search.searchResponse"
NELFT = "NELFT NHS Foundation Trust"
NELFT_PEOPLE = "people:redbridge:nelft"
ROOT = Path(__file__).resolve().parents[2]


def nelft(pid: str, name: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": pid,
        "name": name,
        "agency": "nelft",
        "roles": ["practitioner"],
        "email": f"{pid}@nelft.example",
        "teams_user_id": f"29:{pid}",
        "aad_object_id": f"aad-{pid}",
        **extra,
    }
    if title:
        record["job_title"] = title
    return record


# Amara (Redbridge adult social care) raises against NELFT, which has two Noah Okafors, a board
# role, and enough people that the one she wants is not among the first shown.
DIRECTORY = [
    *(p for p in PEOPLE if p["id"] != "noah"),
    nelft("noah", "Noah Okafor", "Community Nurse", line_manager="nadia"),
    nelft("noah2", "Noah Okafor", "District Nurse", line_manager="nadia"),
    *(nelft(f"staff{n:02d}", f"Staff Member {n:02d}", "Nurse") for n in range(1, 28)),
    nelft("zainab", "Zainab Yusuf", "Occupational Therapist"),  # the 30th at NELFT, by name
    # NELFT's board member for Redbridge: board roles are never a party to the board's cases.
    nelft("bea", "Bea Board", "Director of Nursing", board_roles=["redbridge:board_member"]),
    # Another agency's Noah Okafor.
    {
        "id": "met-noah",
        "name": "Noah Okafor",
        "agency": "met-police",
        "roles": ["practitioner"],
        "teams_user_id": "29:met-noah",
        "aad_object_id": "aad-met-noah",
    },
]


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    async with running(await settings_with(tmp_path, DIRECTORY), Chat) as started:
        yield started


async def to_the_picker(chat: Chat) -> None:
    await answer(chat, "raise", "agency")
    picked = last_choice_set(chat.connector, "a:chat-amara")
    replies = await choose(chat, "amara", picked.value_of(NELFT))  # the card, by id
    assert says(replies, "Who is the other professional"), replies


async def finish(chat: Chat, answers: list[tuple[str, str]] = ANSWERS[3:]) -> Case:
    """The rest of the raise (after the other professional), then the case as stored."""
    for text, expect in answers:
        await answer(chat, text, expect)
    return await opened_case(chat)


def offered(chat: Chat, who: str = "amara") -> list[str]:
    """The ids the last picker card offers."""
    return [value for _, value in last_choice_set(chat.connector, f"a:chat-{who}").choices]


def results(body: Any) -> list[tuple[str, str]]:
    assert body["type"] == SEARCH_RESPONSE, body
    return [(r["value"], r["title"]) for r in body["value"]["results"]]


# -- the agency and category questions ------------------------------------------------------------


async def test_every_agency_but_the_raisers_own_is_offered_whole(chat: Chat) -> None:
    names = {
        a.id: a.name
        for a in PackRegistry.from_directory(ROOT / "policies").get("redbridge").agencies
    }
    assert len(names) == 9
    seen: set[str] = set()
    for who, own in (("amara", "redbridge-asc"), ("noah", "nelft")):
        replies = await chat.say(who, "raise")
        assert says(replies, "Which agency is the other professional in?"), replies
        shown = last_choice_set(chat.connector, f"a:chat-{who}")
        # Whole titles (no "London Borough of Redbrid..."), ids as values, the raiser's own left out.
        assert shown.choices == [(name, aid) for aid, name in names.items() if aid != own]
        assert shown.input["wrap"] is True
        seen |= {title for title, _ in shown.choices}
        await chat.say(who, "cancel")
    assert seen == set(names.values())  # all nine, each whole


async def test_an_agency_is_chosen_by_card_or_by_typing_and_never_the_raisers_own(
    chat: Chat,
) -> None:
    await answer(chat, "raise", "agency")
    replies = await chat.say("amara", "London Borough of Redbridge Adult Social Care")
    assert says(replies, "Pick one of the options"), replies
    replies = await chat.say("amara", "redbridge")  # could be housing, hospitals or the CVS
    assert says(replies, "That could be") and says(replies, "Redbridge Housing"), replies
    assert not says(replies, "Who is the other professional"), replies
    # A card for another question, or an id the card did not offer, is asked again.
    replies = await submit(chat, "amara", {"verb": "answer", "pick.agency_id": "redbridge-asc"})
    assert says(replies, "Pick one of the options"), replies
    replies = await chat.say("amara", "nelft")  # the id, or any unambiguous part
    assert says(replies, "Who is the other professional"), replies


async def test_the_category_question_shows_every_category_whole(chat: Chat) -> None:
    await to_the_picker(chat)
    await answer(chat, "Nadia Khan", "case reference")
    await answer(chat, "ASC-104233", "What is it about")
    shown = last_choice_set(chat.connector, "a:chat-amara")
    titles = [title for title, _ in shown.choices]
    assert "An agency's response to safeguarding concerns or a safeguarding plan" in titles
    assert "Practice or case management, including drift or case closure" in titles
    assert len(titles) == 6
    replies = await choose(chat, "amara", shown.value_of("Roles and responsibilities"))
    assert says(replies, "immediate risk"), replies
    case = await finish(chat, ANSWERS[5:])
    assert case.category == "roles-responsibilities"


async def test_the_board_is_chosen_by_card_or_by_typing_when_the_agency_serves_two(
    chat: Chat,
) -> None:
    # The Metropolitan Police is a partner of both boards.
    replies = await chat.say("met-noah", "raise")
    assert says(replies, "Which board's policy applies?"), replies
    boards = last_choice_set(chat.connector, "a:chat-met-noah")
    assert sorted(boards.choices) == [
        ("Harrow Safeguarding Adults Board", "harrow"),
        ("Redbridge Safeguarding Adults Board", "redbridge"),
    ]
    replies = await choose(chat, "met-noah", "harrow")
    assert says(replies, "Which agency is the other professional in?"), replies
    agencies = [t for t, _ in last_choice_set(chat.connector, "a:chat-met-noah").choices]
    assert "Central and North West London NHS Foundation Trust (CNWL)" in agencies
    assert "Metropolitan Police Service" not in agencies  # the raiser's own
    await chat.say("met-noah", "cancel")
    await chat.say("met-noah", "raise")
    replies = await chat.say("met-noah", "redbridge")  # typed: an unambiguous part
    assert says(replies, "Which agency is the other professional in?"), replies
    agencies = [t for t, _ in last_choice_set(chat.connector, "a:chat-met-noah").choices]
    assert NELFT in agencies


# -- the people picker ----------------------------------------------------------------------------


async def test_two_people_of_one_name_are_told_apart_and_the_one_picked_gets_the_case(
    chat: Chat,
) -> None:
    await to_the_picker(chat)
    shown = last_choice_set(chat.connector, "a:chat-amara")
    titles = dict((value, title) for title, value in shown.choices)
    assert titles["noah"] == "Noah Okafor, Community Nurse (noah@nelft.example)"
    assert titles["noah2"] == "Noah Okafor, District Nurse (noah2@nelft.example)"
    # Typed, the name finds both (and no one at another agency), numbered with what tells
    # them apart; she picks the second by number.
    replies = await chat.say("amara", "noah okafor")
    listing = "\n".join(replies)
    assert "2 people at NELFT NHS Foundation Trust match that" in listing, replies
    assert "1. Noah Okafor, Community Nurse (noah@nelft.example)" in listing
    assert "2. Noah Okafor, District Nurse (noah2@nelft.example)" in listing
    assert "Police" not in listing and "met-noah" not in listing
    replies = await answer(chat, "2", "case reference")
    assert says(replies, "The other professional: Noah Okafor, District Nurse"), replies
    case = await finish(chat)
    assert case.party("receiver").person_id == "noah2"


async def test_the_impostor_never_appears_and_never_gets_the_case(chat: Chat) -> None:
    # Someone unknown to the directory, in Teams as "Noah Okafor", has opened the bot.
    impostor = chat.activity(
        "impostor",
        text="hello",
        **{"from": {"id": "29:impostor", "aadObjectId": "aad-impostor", "name": "Noah Okafor"}},
    )
    async with chat.http.post(chat.url + "/api/messages", json=impostor) as r:
        assert r.status == 201
    await to_the_picker(chat)
    assert "met-noah" not in offered(chat) and "bea" not in offered(chat)
    assert not any("impostor" in pid for pid in offered(chat))
    # A forged answer naming anyone who is not a candidate is refused, and asked again.
    for forged in ("teams-aad-impostor", "aad-impostor", "29:impostor", "met-noah", "bea", "amara"):
        replies = await choose(chat, "amara", forged)
        assert says(replies, "I can only name someone at NELFT NHS Foundation Trust"), replies
        assert not says(replies, "case reference"), replies
    # The name alone picks no one: it lists NELFT's two, never the impostor.
    replies = await chat.say("amara", "Noah Okafor")
    assert says(replies, "2 people at NELFT"), replies
    # The real one, by id from the card.
    replies = await choose(chat, "amara", "noah")
    assert says(replies, "The other professional: Noah Okafor, Community Nurse"), replies
    assert says(replies, "case reference"), replies
    case = await finish(chat)
    assert case.party("receiver").person_id == "noah"
    assert all(p.person_id != "met-noah" for p in case.parties)


async def test_the_30th_person_is_found_by_typeahead(chat: Chat) -> None:
    await to_the_picker(chat)
    assert "zainab" not in offered(chat)  # the card shows only the first few
    status, body = await search(chat, "amara", NELFT_PEOPLE, "zain")
    assert status == 200
    assert results(body) == [
        ("zainab", "Zainab Yusuf, Occupational Therapist (zainab@nelft.example)")
    ]
    status, body = await search(chat, "amara", NELFT_PEOPLE, "therapist")  # by job title
    assert [pid for pid, _ in results(body)] == ["zainab"]
    replies = await choose(chat, "amara", "zainab")
    assert says(replies, "The other professional: Zainab Yusuf"), replies
    case = await finish(chat)
    assert case.party("receiver").person_id == "zainab"


async def test_the_30th_person_is_found_by_typed_search(chat: Chat) -> None:
    await to_the_picker(chat)
    replies = await chat.say("amara", "yusuf")
    assert says(
        replies, "Zainab Yusuf, Occupational Therapist (zainab@nelft.example) — is that right?"
    ), replies
    replies = await answer(chat, "yes", "case reference")
    assert says(replies, "The other professional: Zainab Yusuf"), replies
    case = await finish(chat)
    assert case.party("receiver").person_id == "zainab"


async def test_typing_by_email_then_saying_no_asks_again(chat: Chat) -> None:
    await to_the_picker(chat)
    replies = await chat.say("amara", "noah2@nelft.example")
    assert says(replies, "Noah Okafor, District Nurse (noah2@nelft.example) — is that right?")
    replies = await chat.say("amara", "no")
    assert says(replies, "Type part of their name"), replies
    assert not says(replies, "case reference"), replies
    await answer(chat, "Staff Member 07", "case reference")  # a whole name is taken at once


async def test_no_match_says_so_and_offers_not_on_teams(chat: Chat) -> None:
    await to_the_picker(chat)
    replies = await chat.say("amara", "Jo Bloggs")
    assert says(replies, "I found no one at NELFT NHS Foundation Trust matching that"), replies
    assert says(replies, "not on Teams"), replies
    replies = await answer(chat, "not on Teams", "What is their name and role?")
    await answer(chat, "Jo Bloggs, agency nurse", "work email")
    await answer(chat, "jo.bloggs@agency.example", "case reference")
    case = await finish(chat)
    receiver = case.party("receiver")
    assert receiver.person_id is None and receiver.name == "Jo Bloggs, agency nurse"


async def test_the_not_on_teams_button_asks_for_their_name_and_email(chat: Chat) -> None:
    await to_the_picker(chat)
    replies = await choose(chat, "amara", "", verb="not_on_teams")
    assert says(replies, "What is their name and role?"), replies


async def test_a_choice_card_answered_after_the_question_closed_is_not_acted_on(
    chat: Chat,
) -> None:
    await to_the_picker(chat)
    await chat.say("amara", "cancel")
    replies = await choose(chat, "amara", "noah")
    assert replies == ["That question is no longer open. Type 'raise' to start again."]


# -- the search invoke ----------------------------------------------------------------------------


async def test_the_search_answers_only_the_datasets_candidates_capped(chat: Chat) -> None:
    status, body = await search(chat, "amara", NELFT_PEOPLE, "noah")
    assert status == 200
    assert [pid for pid, _ in results(body)] == ["noah", "noah2"]  # never met-noah
    # An empty query pages through the agency's candidates; never more than 25 at a time.
    status, body = await search(chat, "amara", NELFT_PEOPLE, "", top=1000)
    everyone = [pid for pid, _ in results(body)]
    assert len(everyone) == 25 and "bea" not in everyone and "amara" not in everyone
    status, body = await search(chat, "amara", NELFT_PEOPLE, "", skip=25, top=25)
    rest = [pid for pid, _ in results(body)]
    assert set(rest).isdisjoint(everyone) and len(everyone) + len(rest) == 31
    # A board role at the agency is never found, even by name.
    status, body = await search(chat, "amara", NELFT_PEOPLE, "bea board")
    assert results(body) == []


@pytest.mark.parametrize(
    ("who", "dataset", "query"),
    [
        ("impostor", NELFT_PEOPLE, "noah"),  # a caller the directory does not know
        ("amara", "people:redbridge:redbridge-asc", "lena"),  # the caller's own agency
        ("noah", NELFT_PEOPLE, "nadia"),  # the same, for someone at NELFT
        ("amara", "people:harrow:nelft", "noah"),  # a board the caller's agency is not on
        ("amara", "people:redbridge:no-such-agency", "noah"),
        ("amara", "people:nowhere:nelft", "noah"),
        ("amara", "npm", "noah"),  # not a people picker at all
        ("amara", NELFT_PEOPLE, "noah" + " " * 200),  # longer than any name
    ],
)
async def test_the_search_refuses_with_no_results(
    chat: Chat, who: str, dataset: str, query: str
) -> None:
    status, body = await search(chat, who, dataset, query)
    assert status == 200
    assert results(body) == []


# -- the directory's job titles -------------------------------------------------------------------


async def test_a_job_title_is_optional_and_must_be_text(tmp_path: Path) -> None:
    storage = await open_storage(StorageSettings(None, tmp_path / "data"))
    try:
        with pytest.raises(ValueError, match=r"records\[0\].*job_title must be a non-empty string"):
            await storage.directory.import_records([nelft("x", "Xena Ward", job_title=7)])
        with pytest.raises(ValueError, match="job_title"):
            await storage.directory.import_records([nelft("x", "Xena Ward", job_title="  ")])
        await storage.directory.import_records(
            [nelft("x", "Xena Ward", "Ward Sister"), nelft("y", "Yan Lee")]
        )
        found = await storage.directory.person("x")
        untitled = await storage.directory.person("y")
    finally:
        await storage.close()
    assert found is not None and found.job_title == "Ward Sister"
    assert untitled is not None and untitled.job_title is None
