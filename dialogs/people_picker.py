"""Who is the other professional: someone at the chosen agency, picked by directory id.

A display name identifies no one, so every way of answering ends in a directory id taken from
`escalation.parties.candidates` (the agency's people who may be a party, never the raiser):

* In Teams, a typeahead card (`cards.picker_card.people_card`): its static choices are the first
  few people, typing asks the bot's `application/search` for the rest, and its `Action.Submit`
  sends back the chosen id. An id that is not a candidate is refused, whatever a client sends.
* Typed in the chat: the agency's people are searched by name, email and job title. One match is
  taken when the whole name was typed and confirmed otherwise; several are listed with what
  tells them apart, to pick by number; none is said, and asked again.
* "Not on Teams" (a button, or typed): the dialog asks for their name and email instead.

The dialog ends with the chosen person's id, or None for someone not on Teams.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.dialogs import Dialog, DialogContext, DialogInstance, DialogTurnResult
from botbuilder.schema import ActivityTypes

from bot.messages import card_message
from cards.picker_card import (
    ANSWER,
    FIRST_PEOPLE,
    NOT_ON_TEAMS,
    people_card,
    people_dataset,
)
from dialogs.matching import is_no, is_yes, normal, number
from escalation.directory import Person
from escalation.packs import PackRegistry
from escalation.parties import candidates, is_exact_name, labels, search
from escalation.ports import DirectorySource

PERSON_INPUT = "pick.person"
QUESTION = "Who is the other professional?"
HINT = (
    "Or type part of their name, their work email or job title in the chat. If they are not on "
    "Teams, type 'not on Teams'."
)
MAX_LISTED = 10  # the most matches listed to pick by number; more: type more of the name


class PeoplePicker(Dialog):  # type: ignore[misc]
    def __init__(self, dialog_id: str, *, directory: DirectorySource, packs: PackRegistry):
        super().__init__(dialog_id)
        self._directory = directory
        self._packs = packs

    # -- the dialog ---------------------------------------------------------------------------

    async def begin_dialog(
        self, dialog_context: DialogContext, options: object = None
    ) -> DialogTurnResult:
        given: dict[str, Any] = dict(options) if isinstance(options, dict) else {}
        state = dialog_context.active_dialog.state
        state.update(
            board=given["board"],
            agency_id=given["agency_id"],
            raiser_id=given["raiser_id"],
            listed=[],  # ids in the order last shown, for an answer by number
            confirm=None,  # the id of a single match waiting for yes or no
        )
        people = await self._candidates(state)
        if not people:
            await dialog_context.context.send_activity(
                f"I have no one at {self._agency_name(state)} in my directory, so I'll ask "
                "for their name and email."
            )
            return await dialog_context.end_dialog(None)
        await self._show(dialog_context.context, state, people, people, QUESTION)
        return Dialog.end_of_turn

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        context = dialog_context.context
        activity = context.activity
        if activity.type != ActivityTypes.message:
            return Dialog.end_of_turn
        state = dialog_context.active_dialog.state
        people = await self._candidates(state)
        by_id = {p.id: p for p in people}
        text = activity.text if isinstance(activity.text, str) else ""
        value = activity.value if isinstance(activity.value, dict) and not text else {}
        verb = value.get("verb")
        if verb == NOT_ON_TEAMS:
            return await dialog_context.end_dialog(None)
        if verb == ANSWER:
            chosen = value.get(PERSON_INPUT)
            if isinstance(chosen, str) and chosen in by_id:
                return await self._chosen(dialog_context, by_id[chosen], people)
            return await self._again(
                dialog_context,
                people,
                f"I can only name someone at {self._agency_name(state)}: pick them from the "
                "list, or type their name.",
            )
        if not text.strip():
            return await self._again(dialog_context, people, QUESTION)

        waiting, state["confirm"] = state.get("confirm"), None
        if waiting is not None:
            if is_yes(text) and waiting in by_id:
                return await self._chosen(dialog_context, by_id[waiting], people)
            if is_no(text):
                return await self._again(
                    dialog_context, people, "Type part of their name, their email or job title."
                )
        listed = [pid for pid in state.get("listed") or [] if pid in by_id]
        position = number(text, len(listed))
        if position is not None:
            return await self._chosen(dialog_context, by_id[listed[position]], people)
        if "not on teams" in normal(text):
            return await dialog_context.end_dialog(None)
        return await self._typed(dialog_context, people, text)

    async def reprompt_dialog(self, context: TurnContext, instance: DialogInstance) -> None:
        people = await self._candidates(instance.state)
        waiting = instance.state.get("confirm")
        if waiting is not None and waiting in {p.id for p in people}:
            # The question pending is the yes or no about one match: ask that again.
            await context.send_activity(f"{labels(people)[waiting]} — is that right? (yes or no)")
            return
        await self._show(context, instance.state, people, people, QUESTION)

    # -- typed search -------------------------------------------------------------------------

    async def _typed(
        self, dialog_context: DialogContext, people: list[Person], typed: str
    ) -> DialogTurnResult:
        state = dialog_context.active_dialog.state
        found = search(people, typed)
        names = labels(people)
        if len(found) == 1:
            person = found[0]
            if is_exact_name(person, typed):
                return await self._chosen(dialog_context, person, people)
            state["confirm"] = person.id
            await dialog_context.context.send_activity(
                f"{names[person.id]} — is that right? (yes or no)"
            )
            return Dialog.end_of_turn
        agency = self._agency_name(state)
        if not found:
            return await self._again(
                dialog_context,
                people,
                f"I found no one at {agency} matching that. Type part of their name, their work "
                "email or job title, or pick from the list. If they are not on Teams, type "
                "'not on Teams' and I'll ask for their name and email.",
            )
        shown = found[:MAX_LISTED]
        lines = [f"{n}. {names[p.id]}" for n, p in enumerate(shown, start=1)]
        said = f"{len(found)} people at {agency} match that:\n\n" + "\n".join(lines)
        if len(found) > len(shown):
            said += f"\n\n…and {len(found) - len(shown)} more: type more of the name."
        said += "\n\nType the number of the right person, or another name."
        await self._show(dialog_context.context, state, people, shown, said)
        return Dialog.end_of_turn

    # -- helpers ------------------------------------------------------------------------------

    async def _candidates(self, state: dict[str, Any]) -> list[Person]:
        # Read afresh each turn: someone may have left the agency since the card was shown.
        return candidates(
            await self._directory.snapshot(),
            board_id=state["board"],
            agency_id=state["agency_id"],
            raiser_id=state["raiser_id"],
        )

    def _agency_name(self, state: dict[str, Any]) -> str:
        agency = self._packs.get(state["board"]).agency(state["agency_id"])
        return agency.name if agency else str(state["agency_id"])

    async def _show(
        self,
        context: TurnContext,
        state: dict[str, Any],
        people: Sequence[Person],
        shown: Sequence[Person],
        said: str,
    ) -> None:
        """Say `said` with the picker card; `shown` are its static choices, numbered."""
        shown = list(shown)[:FIRST_PEOPLE]
        names = labels(people)  # over everyone: a same-name pair reads apart in any list
        state["listed"] = [p.id for p in shown]
        card = people_card(
            QUESTION,
            PERSON_INPUT,
            [(p.id, names[p.id]) for p in shown],
            dataset=people_dataset(state["board"], state["agency_id"]),
            hint=HINT,
        )
        await context.send_activity(card_message(card, text=said))

    async def _again(
        self, dialog_context: DialogContext, people: list[Person], said: str
    ) -> DialogTurnResult:
        """Say why the answer was not taken, and ask again: the text ends with the question, as
        the card does, for a client that shows the text alone (a phone's notification)."""
        state = dialog_context.active_dialog.state
        if not said.endswith(QUESTION):
            said = f"{said} {QUESTION}"
        await self._show(dialog_context.context, state, people, people, said)
        return Dialog.end_of_turn

    @staticmethod
    async def _chosen(
        dialog_context: DialogContext, person: Person, people: list[Person]
    ) -> DialogTurnResult:
        await dialog_context.context.send_activity(
            f"The other professional: {labels(people)[person.id]}."
        )
        return await dialog_context.end_dialog(person.id)
