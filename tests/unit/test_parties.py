"""Who may be named as the other professional, finding them by what is typed, telling two people
of one name apart, and reading typed answers to a question with choices."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.people_search import MAX_SKIP, read_query
from cards.picker_card import TYPEAHEAD_COUNT
from dialogs.matching import is_no, is_yes, match_choice, number
from escalation.directory import Directory, Person, Standing
from escalation.parties import (
    MAX_QUERY,
    MAX_RESULTS,
    candidates,
    is_exact_name,
    label,
    labels,
    may_be_party,
    search,
)


def someone(
    pid: str,
    name: str,
    agency: str = "nelft",
    *,
    title: str | None = None,
    email: str | None = None,
    board: tuple[tuple[str, str], ...] = (),
) -> Person:
    return Person(
        id=pid,
        name=name,
        agency_id=agency,
        job_title=title,
        email=email,
        board_roles=frozenset(board),
    )


NOAH = someone("noah", "Noah Okafor", title="Community Nurse", email="noah.okafor@nelft.example")
NOAH_2 = someone("noah-2", "Noah Okafor", title="District Nurse", email="n.okafor2@nelft.example")
NADIA = someone("nadia", "Nadia Khan", title="Team Manager", email="nadia.khan@nelft.example")
NOAHS_NAMESAKE = someone("met-noah", "Noah Okafor", "met-police", title="Police Constable")
CHAIR = someone("chair", "Chris Hale", board=(("redbridge", "independent_chair"),))
HARROW_ROLE = someone("hw", "Hattie Marsh", board=(("harrow", "business_manager"),))
AMARA = someone("amara", "Amara Osei", "redbridge-asc")
DIRECTORY = Directory.of([NOAH, NOAH_2, NADIA, NOAHS_NAMESAKE, CHAIR, HARROW_ROLE, AMARA])


def test_a_board_role_on_the_board_is_never_a_party_to_its_cases() -> None:
    assert may_be_party(NOAH, "redbridge")
    assert not may_be_party(CHAIR, "redbridge")
    assert may_be_party(CHAIR, "harrow")  # neutrality is per board
    assert not may_be_party(HARROW_ROLE, "harrow")


def test_candidates_are_the_agencys_people_who_may_be_a_party_never_the_raiser() -> None:
    found = candidates(DIRECTORY, board_id="redbridge", agency_id="nelft", raiser_id="nadia")
    # Sorted by name, then job title: the met-police namesake and the chair are not offered.
    assert [p.id for p in found] == ["hw", "noah", "noah-2"]
    assert all(p.agency_id == "nelft" for p in found)
    assert "nadia" not in {p.id for p in found}


@pytest.mark.parametrize(
    ("typed", "ids"),
    [
        ("noah okafor", ["noah", "noah-2"]),
        ("NOAH", ["noah", "noah-2"]),
        ("okafor district", ["noah-2"]),  # the name and the job title together
        ("nurse", ["noah", "noah-2"]),
        ("noah.okafor@nelft.example", ["noah"]),  # an email
        ("team manager", ["nadia"]),
        ("kha", ["nadia"]),  # part of a name
        ("  nadia   khan ", ["nadia"]),
        ("nobody", []),
        ("", []),
        ("   ", []),
    ],
)
def test_search_matches_name_email_and_job_title_in_any_case(typed: str, ids: list[str]) -> None:
    assert [p.id for p in search([NOAH, NOAH_2, NADIA], typed)] == ids


def test_whole_names_come_first_then_names_that_start_with_the_query() -> None:
    people = [
        someone("a", "Ann Lee"),
        someone("b", "Kathleen Ford"),
        someone("c", "Lee Ann Smith"),
        someone("d", "Lee"),
    ]
    assert [p.id for p in search(people, "lee")] == ["d", "c", "a", "b"]
    assert is_exact_name(people[3], " LEE ")
    assert not is_exact_name(people[2], "lee")


def test_each_group_of_a_search_is_in_name_order_whatever_order_it_came_in() -> None:
    junior = someone("jr", "Noah Okafor Jr")
    by_email = someone("pa", "Pat Adeyemi", email="for.noah.okafor@nelft.example")
    given = [by_email, junior, NOAH_2, NOAH]

    found = search(given, "noah okafor")

    # Whole names (two namesakes, by job title), then names that start so, then the rest.
    assert [p.id for p in found] == ["noah", "noah-2", "jr", "pa"]
    assert [p.id for p in search(reversed(given), "okafor")] == ["noah", "noah-2", "jr", "pa"]


def test_an_agencys_people_are_every_entry_there_by_name_whatever_its_standing() -> None:
    pending = replace(someone("pen", "Ada Brown"), status=Standing.PENDING)
    directory = Directory.of([NOAH_2, NADIA, pending, NOAH, NOAHS_NAMESAKE, AMARA])

    assert [p.id for p in directory.people_at("nelft")] == ["pen", "nadia", "noah", "noah-2"]
    assert directory.people_at("met-police") == (NOAHS_NAMESAKE,)
    assert directory.people_at("nowhere") == ()
    # Offered as a party only when active, as before.
    offered = candidates(directory, board_id="redbridge", agency_id="nelft", raiser_id="noah")
    assert [p.id for p in offered] == ["nadia", "noah-2"]


def test_a_query_longer_than_any_name_finds_no_one() -> None:
    assert search([NOAH], "n" * (MAX_QUERY + 1)) == []
    assert search([NOAH], "noah" + " " * (MAX_QUERY - 4)) == [NOAH]


def test_the_label_tells_two_people_of_one_name_apart() -> None:
    assert label(NOAH) == "Noah Okafor, Community Nurse (noah.okafor@nelft.example)"
    assert label(someone("x", "Sam Idowu")) == "Sam Idowu"
    assert label(someone("y", "Sam Idowu", email="sam@x.example")) == "Sam Idowu (sam@x.example)"
    found = labels([NOAH, NOAH_2])
    assert found["noah"] != found["noah-2"]
    # With nothing else to tell them apart, the directory id is added to both.
    twins = labels([someone("s1", "Sam Idowu"), someone("s2", "Sam Idowu"), NADIA])
    assert twins == {
        "s1": "Sam Idowu [s1]",
        "s2": "Sam Idowu [s2]",
        "nadia": label(NADIA),
    }


AGENCIES = [
    ("redbridge-asc", "London Borough of Redbridge Adult Social Care"),
    ("redbridge-housing", "London Borough of Redbridge Housing"),
    ("nelft", "NELFT NHS Foundation Trust"),
    ("bhrut", "Barking, Havering and Redbridge University Hospitals NHS Trust"),
    ("met-police", "Metropolitan Police Service"),
]


@pytest.mark.parametrize(
    ("typed", "chosen"),
    [
        ("NELFT NHS Foundation Trust", "nelft"),  # the whole name
        ("nelft nhs foundation trust.", "nelft"),
        ("met-police", "met-police"),  # the id
        ("3", "nelft"),  # its number in the list
        ("police", "met-police"),  # an unambiguous part
        ("redbridge housing", "redbridge-housing"),
        ("barking", "bhrut"),
    ],
)
def test_a_typed_choice_is_read_by_name_id_number_or_unambiguous_part(
    typed: str, chosen: str
) -> None:
    assert match_choice(typed, AGENCIES).chosen == chosen


def test_an_ambiguous_or_unknown_typed_choice_picks_nothing_and_says_what_it_could_be() -> None:
    found = match_choice("Redbridge", AGENCIES)
    assert found.chosen is None
    assert set(found.could_be) == {AGENCIES[0][1], AGENCIES[1][1], AGENCIES[3][1]}
    assert match_choice("fire brigade", AGENCIES).chosen is None
    assert match_choice("fire brigade", AGENCIES).could_be == ()
    assert match_choice("9", AGENCIES).chosen is None
    assert match_choice("", AGENCIES).chosen is None


def test_numbers_and_yes_or_no() -> None:
    assert number("2", 3) == 1
    assert number("2.", 3) == 1
    assert number("#3", 3) == 2
    assert number("4", 3) is None
    assert number("0", 3) is None
    assert number("two", 3) is None
    assert is_yes("Yes.") and is_yes("y") and not is_yes("yes please no")
    assert is_no("No") and not is_no("nobody")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "people:redbridge:nelft",
        {"queryText": "noah"},  # no dataset
        {"queryText": "noah", "dataset": "npm"},
        {"queryText": 42, "dataset": "people:redbridge:nelft"},
        {"queryText": "n" * (MAX_QUERY + 1), "dataset": "people:redbridge:nelft"},
    ],
)
def test_a_search_invoke_that_is_not_a_people_query_is_not_read(value: object) -> None:
    assert read_query(value) is None


def test_a_people_query_caps_what_it_asks_for() -> None:
    query = read_query(
        {
            "queryText": "noah",
            "dataset": "people:redbridge:nelft",
            "queryOptions": {"skip": 10**9, "top": 1000},
        }
    )
    assert query is not None
    assert (query.board_id, query.agency_id, query.text) == ("redbridge", "nelft", "noah")
    assert query.top == MAX_RESULTS and query.skip == MAX_SKIP
    odd = read_query(
        {"dataset": "people:redbridge:nelft", "queryOptions": {"skip": -5, "top": True}}
    )
    assert odd is not None
    assert (odd.text, odd.skip, odd.top) == ("", 0, TYPEAHEAD_COUNT)
