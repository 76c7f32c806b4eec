"""Who may be named as the other professional in a disagreement, and finding them by what a
person types.

Pure functions of a directory snapshot. The raise dialog's picker, its typed search and the
bot's typeahead search all go through `candidates` and `search`, so no way of choosing can offer
someone another way would not. A display name is a label, never a key: a choice is always a
directory id, and `labels` adds the job title and email that tell two people of one name apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Final

from escalation.directory import Directory, Person

# A typed search longer than this is no one's name, email or job title.
MAX_QUERY = 100
# The most people one search answers (Teams shows 15 in a typeahead list).
MAX_RESULTS = 25


def may_be_party(person: Person, board_id: str) -> bool:
    """Whether this directory entry may be named as a party to a case on this board.

    Board roles are neutral: a board's business manager, chair or panel member is never a party
    to one of its cases. Every other reason to leave someone out of the pickers (an entry not yet
    approved, say) belongs here too, so that every picker and search follows it.
    """
    if not person.active:
        return False
    return not person.board_roles or all(board != board_id for board, _ in person.board_roles)


def candidates(
    directory: Directory, *, board_id: str, agency_id: str, raiser_id: str
) -> list[Person]:
    """The people at `agency_id` the raiser may name as the other professional, by name."""
    return [
        p
        for p in directory.people_at(agency_id)  # already by name (`Person.sort_key`)
        if p.id != raiser_id and may_be_party(p, board_id)
    ]


def _words(text: str) -> list[str]:
    return text.casefold().split()


def is_exact_name(person: Person, query: str) -> bool:
    """Whether the query is the person's whole name (any case, any spacing)."""
    return person.name_words == " ".join(_words(query))


def search(people: Iterable[Person], query: str) -> list[Person]:
    """The people whose name, job title or email hold every word of the query, in any case;
    whole-name matches first, then names that start with the query, then the rest by name."""
    words = _words(query)
    if not words or len(query) > MAX_QUERY:
        return []
    joined = " ".join(words)
    if len(words) == 1:  # what is typed first, at each keystroke
        found = [p for p in people if joined in p.search_text]
    else:
        found = [p for p in people if all(word in p.search_text for word in words)]
    whole: list[Person] = []
    starting: list[Person] = []
    rest: list[Person] = []
    for person in found:
        name = person.name_words
        group = whole if name == joined else starting if name.startswith(joined) else rest
        group.append(person)
    # Each group by name; people in that order already (`candidates`) are left as they are.
    return [p for group in (whole, starting, rest) for p in sorted(group, key=_SORT_KEY)]


_SORT_KEY: Final = attrgetter("sort_key")


def label(person: Person) -> str:
    """'Noah Okafor, Community Nurse (noah.okafor@nelft.example)': the name and whatever the
    directory has to tell this person from another of the same name."""
    text = person.name
    if person.job_title:
        text += f", {person.job_title}"
    if person.email:
        text += f" ({person.email})"
    return text


def labels(people: Sequence[Person]) -> dict[str, str]:
    """Each person's label by id; where two labels would read the same (no job title or email
    to tell them apart), the directory id is added, so no two choices ever look alike."""
    plain = {p.id: label(p) for p in people}
    seen: dict[str, int] = {}
    for text in plain.values():
        seen[text] = seen.get(text, 0) + 1
    return {pid: text if seen[text] == 1 else f"{text} [{pid}]" for pid, text in plain.items()}
