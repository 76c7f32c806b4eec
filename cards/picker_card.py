"""Cards that ask one question with a list of choices: the board, the other agency, the category,
the answer to change, and the other professional. Plain dicts; no I/O.

Every choice shows its whole title (Teams shows at most six hero-card buttons and cuts their
labels short) and answers with an id, never with its title. The people picker is a typeahead:
an `Input.ChoiceSet` with `style: filtered` and `choices.data` (a `Data.Query` naming the dataset
`people:<board>:<agency>`), which Teams fills by asking the bot (an `application/search` invoke).
Those two properties are Teams' additions to the Adaptive Card 1.5 schema; the static `choices`
hold the first few people, so a client without typeahead still shows a usable drop-down.

`Action.Submit` sends the choice back as a message with no text and the value
`{"verb": ANSWER, <input id>: <chosen id>}`; the bot hands such a message to the open dialog.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards.elements import Json, card, choice_input, submit, text

ANSWER = "answer"  # the card's choice answers the question the dialog is asking
NOT_ON_TEAMS = "not_on_teams"  # the other professional is not on Teams or not in the directory
DIALOG_VERBS = frozenset({ANSWER, NOT_ON_TEAMS})

PEOPLE_DATASET = "people"
TYPEAHEAD_COUNT = 15  # Teams lists at most 15 typeahead results
FIRST_PEOPLE = 10  # the static choices: enough to pick from, small enough to read
NOT_ON_TEAMS_TITLE = "Not on Teams: I'll give their name and email"
SEARCH_RESPONSE = "application/vnd.microsoft.search.searchResponse"


def people_dataset(board_id: str, agency_id: str) -> str:
    return f"{PEOPLE_DATASET}:{board_id}:{agency_id}"


def parse_people_dataset(dataset: object) -> tuple[str, str] | None:
    """(board id, agency id) of a people dataset, or None for anything else."""
    if not isinstance(dataset, str):
        return None
    kind, _, rest = dataset.partition(":")
    board_id, _, agency_id = rest.partition(":")
    if kind != PEOPLE_DATASET or not board_id.strip() or not agency_id.strip():
        return None
    return board_id, agency_id


def _numbered(titles: Sequence[str]) -> str:
    return " ".join(f"{n}. {title}." for n, title in enumerate(titles, start=1))


def choice_card(
    question: str, input_id: str, choices: Sequence[tuple[str, str]], *, hint: str
) -> Json:
    """One question and its choices, (id, title) pairs, each title whole."""
    choose = choice_input(input_id, question, choices, error="Pick one of the options.")
    choose["wrap"] = True  # long agency names wrap instead of being cut off
    fallback = (
        f"{question} {_numbered([title for _, title in choices])} "
        "Type the name or number of your answer."
    )
    return card(
        [choose, text(hint, isSubtle=True)],
        fallback_text=fallback,
        speak=question,
        actions=[submit("Choose", {"verb": ANSWER})],
    )


def people_card(
    question: str,
    input_id: str,
    people: Sequence[tuple[str, str]],
    *,
    dataset: str,
    hint: str,
    not_on_teams: bool = True,
) -> Json:
    """The people picker: `people` are (person id, label) pairs shown before anything is typed;
    typing asks the bot for more from `dataset`."""
    choose = choice_input(input_id, question, people, error="Pick someone from the list.")
    choose.update(
        {
            "style": "filtered",
            "wrap": True,
            "placeholder": "Type a name, email or job title",
            "choices.data": {"type": "Data.Query", "dataset": dataset, "count": TYPEAHEAD_COUNT},
        }
    )
    actions = [submit("Choose", {"verb": ANSWER})]
    if not_on_teams:
        outside = submit(NOT_ON_TEAMS_TITLE, {"verb": NOT_ON_TEAMS})
        outside["associatedInputs"] = "none"  # no one need be picked to say so
        actions.append(outside)
    fallback = (
        f"{question} {_numbered([title for _, title in people])} "
        "Type the number, or their name, email or job title."
    )
    if not_on_teams:
        fallback += " If they are not on Teams, type 'not on Teams'."
    return card(
        [choose, text(hint, isSubtle=True)],
        fallback_text=fallback,
        speak=question,
        actions=actions,
    )


def search_response(results: Sequence[tuple[str, str]]) -> Json:
    """The body of an answer to `application/search`: (id, label) pairs as Teams reads them."""
    return {
        "type": SEARCH_RESPONSE,
        "value": {"results": [{"title": title, "value": value} for value, title in results]},
    }


def is_dialog_answer(value: object) -> bool:
    """Whether a submitted card value answers a dialog's question (rather than acting on a case)."""
    verb = value.get("verb") if isinstance(value, dict) else None
    return isinstance(verb, str) and verb in DIALOG_VERBS  # a client may send any JSON
