"""Answers to Teams' typeahead for the people picker (an `application/search` invoke).

The invoke's value is `{queryText, dataset, queryOptions: {skip, top}}`, all of it the client's
word. The answer holds only people of the dataset, `people:<board>:<agency>`, whom this caller
could name as the other professional (`escalation.parties.candidates`), and only for a caller the
directory knows. Anything else gets an empty list: an unknown caller, a dataset that is not one
the raise dialog could have shown them (an unknown board or agency, a board their agency is not
on, their own agency), a query too long to be a name. No more than `MAX_RESULTS` at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards.picker_card import TYPEAHEAD_COUNT, parse_people_dataset
from escalation.directory import Person
from escalation.packs import PackRegistry
from escalation.parties import MAX_QUERY, MAX_RESULTS, labels
from storage.directory_store import DirectoryStore

SEARCH_INVOKE = "application/search"
MAX_SKIP = 10_000  # far past any agency's size; a bigger number is not paging


@dataclass(frozen=True)
class PeopleQuery:
    text: str
    board_id: str
    agency_id: str
    skip: int
    top: int


def _count(value: object, default: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(low, min(value, high))


def read_query(value: object) -> PeopleQuery | None:
    """The invoke's value as a people query, or None when it is not one."""
    if not isinstance(value, dict):
        return None
    text = value.get("queryText")
    text = "" if text is None else text
    dataset = parse_people_dataset(value.get("dataset"))
    options = value.get("queryOptions")
    options = options if isinstance(options, dict) else {}
    if not isinstance(text, str) or len(text) > MAX_QUERY or dataset is None:
        return None
    return PeopleQuery(
        text=text,
        board_id=dataset[0],
        agency_id=dataset[1],
        skip=_count(options.get("skip"), 0, 0, MAX_SKIP),
        top=_count(options.get("top"), TYPEAHEAD_COUNT, 1, MAX_RESULTS),
    )


async def people_search(
    directory: DirectoryStore, packs: PackRegistry, caller: Person | None, value: object
) -> list[tuple[str, str]]:
    """(person id, label) pairs answering the typeahead; empty when it must not be answered."""
    query = read_query(value)
    if caller is None or query is None or query.board_id not in packs.board_ids():
        return []
    pack = packs.get(query.board_id)
    if (
        pack.agency(query.agency_id) is None
        or pack.agency(caller.agency_id) is None
        or query.agency_id == caller.agency_id
    ):
        return []
    found = await directory.search(
        query.text,
        board_id=query.board_id,
        agency_id=query.agency_id,
        raiser_id=caller.id,
        skip=query.skip,
        top=query.top,
    )
    names = labels(found)
    return [(p.id, names[p.id]) for p in found]
