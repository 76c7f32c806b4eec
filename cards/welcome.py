"""The welcome card and the signpost cards (MASH, whistle-blowing, immediate danger, concerns).

Welcome buttons are `Action.Submit`: they start a conversation (a dialog), they do not change a
case, so they carry only `{"verb": ...}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cards.elements import Json, card, container, heading, rich, run, submit, text
from escalation.policy import Signpost, Wording

RAISE = "raise"
MY_CASES = "my_cases"
HELP = "help"

IMMEDIATE_DANGER = "immediate-danger"
COMPLAINTS = "complaints"

NOT_A_COMPLAINTS_PROCESS = (
    "This is not a complaints process and does not replace your agency's own procedures."
)
CALL_999 = "If {someone} is in immediate danger, call 999 now."


def _unique(signposts: Iterable[Signpost], signpost_id: str) -> list[Signpost]:
    seen: dict[tuple[str, str], Signpost] = {}
    for signpost in signposts:
        if signpost.id == signpost_id:
            seen.setdefault((signpost.title, signpost.text), signpost)
    return list(seen.values())


def _boards(pack_names: Sequence[str]) -> str:
    names = list(dict.fromkeys(pack_names))
    if not names:
        return "your safeguarding board"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _who(people: Sequence[str]) -> str:
    """Who is at risk in the boards' own words: 'adult', 'adult or child'."""
    return " or ".join(dict.fromkeys(people or (Wording().person,)))


def welcome_card(
    pack_names: Sequence[str], signposts: Sequence[Signpost], people: Sequence[str] = ()
) -> Json:
    """What the bot does, safety first, and where complaints go (RB-1.5). `people`: who each
    board's policy protects, in its own word (the pack's `words.person`)."""
    who = _who(people)
    someone = Wording(person=who).a_person
    call_999 = CALL_999.format(someone=someone)
    danger = _unique(signposts, IMMEDIATE_DANGER)
    safety: list[Json] = [heading(f"The {who}'s safety comes first")]
    # A signpost's text reads as an order without its title ("Call 999 now..."): keep the
    # condition it applies under in front of it.
    safety += [text(f"**{s.title}:** {s.text}") for s in danger] or [text(call_999)]
    body: list[Json] = [
        container(safety, style="attention"),
        heading(f"Professional disagreements about {someone}'s safety", size="default"),
        text(
            "I help you resolve a disagreement with a professional in another agency about "
            f"{someone} at risk, following the escalation policy of {_boards(pack_names)}: raise it, "
            "record your discussions, keep to the policy's deadlines, and escalate when it is "
            "not resolved."
        ),
        heading("Complaints", size="default"),
    ]
    # The pack's own words where it has them; they already say this is not a complaints process.
    complaints = _unique(signposts, COMPLAINTS)
    body += [text(f"**{s.title}:** {s.text}") for s in complaints] or [
        text(NOT_A_COMPLAINTS_PROCESS)
    ]
    actions = [
        submit("Raise a disagreement", {"verb": RAISE}),
        submit("My cases", {"verb": MY_CASES}),
        submit("Help", {"verb": HELP}),
    ]
    fallback = (
        f"{call_999} I help you resolve professional disagreements about {someone}'s safety. "
        f"{NOT_A_COMPLAINTS_PROCESS} Type 'raise', 'my cases' or 'help'."
    )
    return card(body, fallback_text=fallback, speak=fallback, actions=actions)


def signpost_card(signpost: Signpost, person: str | None = None) -> Json:
    """A pack's signpost: its title, text and contacts (RB-1.6, HW-0w, HW-7, RB-4.1...).
    `person`: who the pack's policy protects, in its word (`words.person`)."""
    body: list[Json] = [heading(signpost.title), text(signpost.text)]
    if signpost.contacts:
        body.append(heading("Contacts", size="default"))
        # Contacts are shown as typed in the pack, never as markdown.
        body += [rich(run(contact)) for contact in signpost.contacts]
    if signpost.id != IMMEDIATE_DANGER:
        someone = Wording(person=person or Wording().person).a_person
        body.append(text(CALL_999.format(someone=someone), isSubtle=True))
    contacts = f" Contacts: {'; '.join(signpost.contacts)}." if signpost.contacts else ""
    summary = f"{signpost.title}. {signpost.text}{contacts}"
    return card(body, fallback_text=summary, speak=summary)
