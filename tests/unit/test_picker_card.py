"""The choice and people-picker cards: valid Adaptive Cards 1.5 (with Teams' typeahead, which
the 1.5 schema does not describe, checked as Teams documents it), whole titles, ids as values."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
from jsonschema import Draft6Validator

from cards.checks import actions, inputs, problems
from cards.elements import Json
from cards.picker_card import (
    ANSWER,
    DIALOG_VERBS,
    NOT_ON_TEAMS,
    SEARCH_RESPONSE,
    TYPEAHEAD_COUNT,
    choice_card,
    is_dialog_answer,
    parse_people_dataset,
    people_card,
    people_dataset,
    search_response,
)
from escalation.policy import PolicyPack
from tests.unit.card_checks import assert_valid, schema, schema_errors

TEAMS_ONLY = ("choices.data",)  # properties of Input.ChoiceSet that only Teams reads


def typeahead_schema() -> dict[str, Any]:
    """The 1.5 schema with Teams' typeahead additions to Input.ChoiceSet, as Teams documents
    them (msteams-platform, "Typeahead search in Adaptive Cards"): the `filtered` style and
    `choices.data`, a `Data.Query` with a dataset, count, skip and associatedInputs."""
    changed = copy.deepcopy(schema())
    definitions = changed["definitions"]
    definitions["ChoiceInputStyle"]["anyOf"][0]["enum"].append("filtered")
    definitions["Data.Query"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "dataset"],
        "properties": {
            "type": {"enum": ["Data.Query"]},
            "dataset": {"type": "string"},
            "count": {"type": "number"},
            "skip": {"type": "number"},
            "associatedInputs": {"enum": ["auto", "none"]},
        },
    }
    choice_set = definitions["Input.ChoiceSet"]["properties"]
    choice_set["choices.data"] = {"$ref": "#/definitions/Data.Query"}
    return changed


@functools.cache
def typeahead() -> Draft6Validator:
    """The validator of `typeahead_schema`, built on first use rather than at import."""
    return Draft6Validator(typeahead_schema())


def without_teams_typeahead(card: Json) -> Json:
    """The card as a client without typeahead reads it: a plain compact drop-down."""
    plain = copy.deepcopy(card)
    for item in inputs(plain):
        for key in TEAMS_ONLY:
            item.pop(key, None)
        if item.get("style") == "filtered":
            item["style"] = "compact"
    return plain


PEOPLE = [
    ("noah", "Noah Okafor, Community Nurse (noah.okafor@nelft.example)"),
    ("noah-2", "Noah Okafor, District Nurse (n.okafor2@nelft.example)"),
    ("nadia", "Nadia Khan (nadia.khan@nelft.example)"),
]


def picker() -> Json:
    return people_card(
        "Who is the other professional?",
        "pick.person",
        PEOPLE,
        dataset=people_dataset("redbridge", "nelft"),
        hint="Or type their name.",
    )


def test_the_agency_question_is_a_valid_1_5_card_with_every_agency_whole(
    redbridge: PolicyPack,
) -> None:
    choices = [(a.id, a.name) for a in redbridge.agencies]
    built = choice_card("Which agency?", "pick.agency_id", choices, hint="Or type it.")
    assert_valid(built)
    [choice_set] = inputs(built)
    assert choice_set["type"] == "Input.ChoiceSet" and choice_set["wrap"] is True
    assert choice_set["style"] in ("compact", "filtered")
    # Every agency (nine), its whole name as the title and its id as the value.
    assert [(c["value"], c["title"]) for c in choice_set["choices"]] == choices
    assert len(choices) == 9
    assert "London Borough of Redbridge Adult Social Care" in [
        c["title"] for c in choice_set["choices"]
    ]
    # A client without Adaptive Cards reads every choice, numbered, in the fallback text.
    assert "9. Redbridge Council for Voluntary Services." in built["fallbackText"]
    assert [a["data"] for a in actions(built)] == [{"verb": ANSWER}]


def test_the_people_picker_is_valid_with_teams_typeahead_and_without_it() -> None:
    built = picker()
    assert [e for e in typeahead().iter_errors(built)] == []
    assert problems(built) == []
    # The 1.5 schema alone refuses only Teams' own additions...
    assert schema_errors(built)
    # ...and the same card without them is a plain, valid 1.5 card for any other client.
    assert_valid(without_teams_typeahead(built))


def test_the_people_picker_asks_the_bot_for_the_agencys_people_and_answers_with_ids() -> None:
    built = picker()
    [choice_set] = inputs(built)
    assert choice_set["style"] == "filtered" and not choice_set.get("isMultiSelect")
    assert choice_set["choices.data"] == {
        "type": "Data.Query",
        "dataset": "people:redbridge:nelft",
        "count": TYPEAHEAD_COUNT,
    }
    # Values are directory ids, never names; the two Noah Okafors read apart.
    assert [c["value"] for c in choice_set["choices"]] == ["noah", "noah-2", "nadia"]
    titles = [c["title"] for c in choice_set["choices"]]
    assert len(set(titles)) == len(titles)
    # Choose sends the pick; "not on Teams" sends no input at all.
    by_verb = {a["data"]["verb"]: a for a in actions(built)}
    assert set(by_verb) == DIALOG_VERBS
    assert by_verb[ANSWER].get("associatedInputs", "auto") == "auto"
    assert by_verb[NOT_ON_TEAMS]["associatedInputs"] == "none"
    assert "name and email" in by_verb[NOT_ON_TEAMS]["title"]


def test_the_picker_can_leave_out_the_not_on_teams_button() -> None:
    built = people_card(
        "Who?", "pick.person", PEOPLE, dataset="people:b:a", hint="h", not_on_teams=False
    )
    assert [a["data"]["verb"] for a in actions(built)] == [ANSWER]
    assert_valid(without_teams_typeahead(built))


@pytest.mark.parametrize(
    ("dataset", "parsed"),
    [
        ("people:redbridge:nelft", ("redbridge", "nelft")),
        ("people:redbridge:", None),
        ("people::nelft", None),
        ("people:redbridge", None),
        ("npm:redbridge:nelft", None),
        ("", None),
        (None, None),
        (["people", "redbridge", "nelft"], None),
    ],
)
def test_a_people_dataset_names_a_board_and_an_agency(dataset: object, parsed: object) -> None:
    assert parse_people_dataset(dataset) == parsed


def test_the_dataset_round_trips() -> None:
    assert parse_people_dataset(people_dataset("harrow", "cnwl")) == ("harrow", "cnwl")


def test_a_search_response_is_what_teams_reads() -> None:
    assert search_response([("noah", "Noah Okafor")]) == {
        "type": SEARCH_RESPONSE,
        "value": {"results": [{"title": "Noah Okafor", "value": "noah"}]},
    }
    assert search_response([]) == {"type": SEARCH_RESPONSE, "value": {"results": []}}


@pytest.mark.parametrize(
    ("value", "answers"),
    [
        ({"verb": ANSWER, "pick.person": "noah"}, True),
        ({"verb": NOT_ON_TEAMS}, True),
        ({"verb": "escalate", "case_id": "RB-2026-ABCDEF"}, False),
        ({"verb": ["answer"]}, False),  # any JSON may arrive: not text, not an answer
        ({"verb": {"answer": 1}}, False),
        ({}, False),
        ("answer", False),
        (None, False),
    ],
)
def test_a_dialog_answer_is_told_from_a_case_action(value: object, answers: bool) -> None:
    assert is_dialog_answer(value) is answers
