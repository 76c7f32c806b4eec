"""Profile: a newcomer says which agency they work for and who their line manager is.

People join as practitioners. Other roles (line manager, safeguarding lead, senior manager, board
roles) give the power to approve and escalate, so only the board's administrator grants them, by
importing the directory (`escalation directory import`).
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import MessageFactory
from botbuilder.dialogs import DialogTurnResult, WaterfallDialog, WaterfallStepContext
from botbuilder.dialogs.choices import Choice, FoundChoice, ListStyle
from botbuilder.dialogs.prompts import ChoicePrompt, ConfirmPrompt, PromptOptions, TextPrompt

from dialogs.answers import AnswerError, text_answer
from dialogs.base import CancelAndHelpDialog
from escalation.directory import Person
from escalation.packs import PackRegistry
from storage.directory_store import DirectoryStore

NOT_LISTED = "My manager is not listed"


def _choices(text: str, choices: list[str]) -> PromptOptions:
    return PromptOptions(
        prompt=MessageFactory.text(text),
        retry_prompt=MessageFactory.text("Pick one of the options."),
        choices=[Choice(c) for c in choices],
        style=ListStyle.hero_card,
    )


class ProfileDialog(CancelAndHelpDialog):
    help_text = (
        "I am asking which agency you work for and who your line manager is, so that the right "
        "people are told when you raise a disagreement. Type 'cancel' to stop."
    )

    def __init__(self, *, packs: PackRegistry, directory: DirectoryStore) -> None:
        super().__init__("profile")
        self._packs = packs
        self._directory = directory
        self.add_dialog(ChoicePrompt("choice"))
        self.add_dialog(ConfirmPrompt("confirm"))
        self.add_dialog(TextPrompt("name"))
        self.add_dialog(
            WaterfallDialog(
                "steps", [self.name, self.agency, self.manager, self.confirm, self.save]
            )
        )
        self.initial_dialog_id = "steps"

    async def name(self, step: WaterfallStepContext) -> DialogTurnResult:
        options: dict[str, Any] = dict(step.options or {})
        step.values.update(options)
        if options.get("name"):
            return await step.next(options["name"])
        return await step.prompt("name", PromptOptions(prompt=MessageFactory.text("Your name?")))

    async def agency(self, step: WaterfallStepContext) -> DialogTurnResult:
        try:
            step.values["name"] = text_answer(
                str(step.result), name="your name", required=True, limit=100
            )
        except AnswerError as exc:
            await step.context.send_activity(str(exc))
            return await step.end_dialog()
        agencies: dict[str, str] = {}
        for pack in self._packs:
            for agency in pack.agencies:
                agencies.setdefault(agency.name, agency.id)
        step.values["agencies"] = agencies
        return await step.prompt(
            "choice", _choices("Which agency do you work for?", sorted(agencies))
        )

    async def manager(self, step: WaterfallStepContext) -> DialogTurnResult:
        found: FoundChoice = step.result
        agency_id = step.values["agencies"][found.value]
        step.values["agency_id"] = agency_id
        snapshot = await self._directory.snapshot()
        managers = sorted(
            (
                p
                for p in snapshot.people.values()
                if p.agency_id == agency_id and p.holds("line_manager")
            ),
            key=lambda p: p.name,
        )
        step.values["managers"] = {p.name: p.id for p in managers[:20]}
        return await step.prompt(
            "choice", _choices("Who is your line manager?", [*step.values["managers"], NOT_LISTED])
        )

    async def confirm(self, step: WaterfallStepContext) -> DialogTurnResult:
        found: FoundChoice = step.result
        step.values["manager_id"] = step.values["managers"].get(found.value)
        manager = found.value if step.values["manager_id"] else "not yet in the directory"
        agency = next(
            n for n, i in step.values["agencies"].items() if i == step.values["agency_id"]
        )
        summary = f"{step.values['name']}, practitioner at {agency}; line manager: {manager}."
        return await step.prompt(
            "confirm", PromptOptions(prompt=MessageFactory.text(summary + " Save this profile?"))
        )

    async def save(self, step: WaterfallStepContext) -> DialogTurnResult:
        if not step.result:
            await step.context.send_activity("Nothing was saved.")
            return await step.end_dialog()
        v = step.values
        existing = await self._directory.person(v["person_id"])
        roles = existing.roles if existing else frozenset({"practitioner"})
        person = Person(
            id=v["person_id"],
            name=v["name"],
            agency_id=v["agency_id"],
            roles=roles,
            board_roles=existing.board_roles if existing else frozenset(),
            line_manager_id=v["manager_id"],
            email=existing.email if existing else None,
        )
        await self._directory.upsert_person(
            person, teams_user_id=v.get("teams_user_id"), aad_object_id=v.get("aad_object_id")
        )
        note = (
            ""
            if v["manager_id"]
            else " Ask your board's business manager to add your line manager."
        )
        await step.context.send_activity(
            f"Your profile is saved.{note} Type 'raise' to raise a disagreement."
        )
        return await step.end_dialog()
