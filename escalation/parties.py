"""Who may be named as the other professional in a disagreement, and finding them by what a
person types.

Pure functions of a directory snapshot. The raise dialog's picker, its typed search and the
bot's typeahead search all go through `candidates` and `search`, so no way of choosing can offer
someone another way would not. A display name is a label, never a key: a choice is always a
directory id, and `labels` adds the job title and email that tell two people of one name apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    return person.active and not any(board == board_id for board, _ in person.board_roles)


def _order(person: Person) -> tuple[str, str, str, str]:
    return (
        person.name.casefold(),
        (person.job_title or "").casefold(),
        (person.email or "").casefold(),
        person.id,
    )


def candidates(
    directory: Directory, *, board_id: str, agency_id: str, raiser_id: str
) -> list[Person]:
    """The people at `agency_id` the raiser may name as the other professional, by name."""
    return sorted(
        (
            p
            for p in directory.people.values()
            if p.agency_id == agency_id and p.id != raiser_id and may_be_party(p, board_id)
        ),
        key=_order,
    )


def _words(text: str) -> list[str]:
    return text.casefold().split()


def is_exact_name(person: Person, query: str) -> bool:
    """Whether the query is the person's whole name (any case, any spacing)."""
    return _words(person.name) == _words(query)


def search(people: Iterable[Person], query: str) -> list[Person]:
    """The people whose name, job title or email hold every word of the query, in any case;
    whole-name matches first, then names that start with the query, then the rest by name."""
    words = _words(query)
    if not words or len(query) > MAX_QUERY:
        return []
    joined = " ".join(words)
    found = []
    for person in people:
        haystack = " ".join(_words(f"{person.name} {person.job_title or ''} {person.email or ''}"))
        if all(word in haystack for word in words):
            found.append(person)
    return sorted(
        found,
        key=lambda p: (
            not is_exact_name(p, query),
            not " ".join(_words(p.name)).startswith(joined),
            _order(p),
        ),
    )


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
