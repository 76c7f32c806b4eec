"""Profile: ask to join an agency, or to change one's agency or line manager.

Nothing typed here grants authority (escalation.joining): the answers become a request that the
line manager named, or an agency administrator, approves on a card in Teams (or the board with
`escalation directory approve`). Until then the entry is pending and holds no role anywhere, so
a change of agency also drops the authority held at the old one. Only the agencies that list the
tenant the person signed in from are offered, and only active line managers there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.dialogs import DialogTurnResult, WaterfallDialog, WaterfallStepContext
from botbuilder.dialogs.choices import Choice, FoundChoice, ListStyle
from botbuilder.dialogs.prompts import ChoicePrompt, PromptOptions, TextPrompt

from bot.turn_errors import note_saved
from dialogs.answers import AnswerError, text_answer
from dialogs.base import CancelAndHelpDialog
from dialogs.confirm_prompt import QuickConfirmPrompt
from escalation.directory import Person, Standing
from escalation.errors import Refused
from escalation.joining import (
    BoardAgencies,
    approvers,
    line_managers,
    names,
    requested_roles,
    who_to_ask,
)
from storage.directory_store import DirectoryStore
from storage.join_requests import Caller, JoinRequestStore, Submitted

NOT_LISTED = "My manager is not listed"
MAX_MANAGERS = 20  # a choice list longer than this is no help; "not listed" covers the rest

# Called once a request is stored, with the turn, so that the bot can reach the person later.
OnRequest = Callable[[TurnContext, Submitted], Awaitable[None]]


def _choices(text: str, choices: list[str]) -> PromptOptions:
    return PromptOptions(
        prompt=MessageFactory.text(text),
        retry_prompt=MessageFactory.text("Pick one of the options."),
        choices=[Choice(c) for c in choices],
        style=ListStyle.hero_card,
    )


def _role_words(roles: frozenset[str]) -> str:
    return ", ".join(sorted(r.replace("_", " ") for r in roles)) or "no role"


class ProfileDialog(CancelAndHelpDialog):
    help_text = (
        "I am asking which agency you work for and who your line manager is. Your answers become "
        "a request: your line manager or your agency's administrator approves it, and until then "
        "you cannot raise or act. Type 'cancel' to stop; nothing is asked until you confirm."
    )

    def __init__(
        self,
        *,
        boards: BoardAgencies,
        directory: DirectoryStore,
        requests: JoinRequestStore,
        on_request: OnRequest,
    ) -> None:
        super().__init__("profile")
        self._boards = boards
        self._directory = directory
        self._requests = requests
        self._on_request = on_request
        self.add_dialog(ChoicePrompt("choice"))
        self.add_dialog(QuickConfirmPrompt("confirm"))
        self.add_dialog(TextPrompt("name"))
        self.add_dialog(
            WaterfallDialog(
                "steps", [self.name, self.agency, self.manager, self.confirm, self.save]
            )
        )
        self.initial_dialog_id = "steps"

    @staticmethod
    def options_for(caller: Caller) -> dict[str, Any]:
        """The dialog's options: plain values, as dialog state is stored."""
        return {
            "person_id": caller.person_id,
            "name": caller.display_name,
            "tenant_id": caller.tenant_id,
            "teams_user_id": caller.teams_user_id,
            "aad_object_id": caller.aad_object_id,
        }

    async def _entry(self, step: WaterfallStepContext) -> Person | None:
        return await self._directory.person(step.values["person_id"])

    async def name(self, step: WaterfallStepContext) -> DialogTurnResult:
        options: dict[str, Any] = dict(step.options or {})
        step.values.update(options)
        entry = await self._entry(step)
        snapshot = await self._directory.snapshot()
        if entry is not None and entry.board_roles:
            await step.context.send_activity(
                "You hold a role on the board, which stays neutral and never acts for an agency: "
                f"your entry is kept by the board's directory. Ask "
                f"{who_to_ask(self._boards.contacts(snapshot))} to change it."
            )
            return await step.end_dialog()
        tenant = options.get("tenant_id")
        offered = [
            (agency_id, agency_name)
            for agency_id, agency_name in self._boards.by_name()
            if snapshot.lists_tenant(agency_id, tenant)
        ]
        if not offered:
            await step.context.send_activity(
                "Your organisation's Microsoft 365 tenant"
                + (f" ({tenant})" if tenant else "")
                + " is not registered for any of the board's agencies, so you cannot join one "
                f"from this account. Ask {who_to_ask(self._boards.contacts(snapshot))} to "
                "register it for your agency."
            )
            return await step.end_dialog()
        step.values["agencies"] = {name: agency_id for agency_id, name in offered}
        if entry is not None:
            step.values["name"] = entry.name  # the directory's name, not the Teams label
            if entry.active:
                await step.context.send_activity(
                    f"You are {_role_words(entry.roles)} at {self._boards.name(entry.agency_id)}. "
                    "A change of agency or line manager is a request that must be approved: "
                    "until it is, you hold no role anywhere. Type 'cancel' to keep things as "
                    "they are."
                )
            return await step.next(entry.name)
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
        return await step.prompt(
            "choice", _choices("Which agency do you work for?", list(step.values["agencies"]))
        )

    async def manager(self, step: WaterfallStepContext) -> DialogTurnResult:
        found: FoundChoice = step.result
        agency_id = step.values["agencies"][found.value]
        step.values["agency_id"] = agency_id
        snapshot = await self._directory.snapshot()
        managers = line_managers(
            snapshot,
            agency_id,
            excluding=step.values["person_id"],
            roles=self._boards.roles(agency_id),
        )
        step.values["managers"] = {p.name: p.id for p in managers[:MAX_MANAGERS]}
        return await step.prompt(
            "choice", _choices("Who is your line manager?", [*step.values["managers"], NOT_LISTED])
        )

    async def confirm(self, step: WaterfallStepContext) -> DialogTurnResult:
        found: FoundChoice = step.result
        v = step.values
        v["manager_id"] = v["managers"].get(found.value)
        agency_name = self._boards.name(v["agency_id"])
        entry = await self._entry(step)
        agency_roles = self._boards.roles(v["agency_id"])
        roles = requested_roles(entry, v["agency_id"], agency_roles)
        # Who would approve it, as the request will be put: named now, so there is no surprise.
        snapshot = await self._directory.snapshot()
        pending = Person(
            id=v["person_id"],
            name=v["name"],
            agency_id=v["agency_id"],
            line_manager_id=v["manager_id"],
            status=Standing.PENDING,
            requested_roles=roles,
        )
        allowed = approvers(snapshot, pending, agency_roles)
        manager = found.value if v["manager_id"] else "none named"
        if allowed:
            who = f"{names([a.describe() for a in allowed])} must approve it"
        else:
            contacts = who_to_ask(self._boards.contacts(snapshot, v["agency_id"]))
            who = f"Nobody at {agency_name} can approve it in Teams, so {contacts} will have to"
        summary = (
            f"You ask to join {agency_name} as {_role_words(roles)}; line manager: {manager}. "
            f"{who}; until then you cannot raise a disagreement, see a case or act on one."
        )
        return await step.prompt(
            "confirm", PromptOptions(prompt=MessageFactory.text(summary + " Send this request?"))
        )

    async def save(self, step: WaterfallStepContext) -> DialogTurnResult:
        if not step.result:
            await step.context.send_activity("Nothing was asked; your entry is as it was.")
            return await step.end_dialog()
        v = step.values
        caller = Caller(
            person_id=v["person_id"],
            display_name=v["name"],
            tenant_id=v.get("tenant_id"),
            teams_user_id=v.get("teams_user_id"),
            aad_object_id=v.get("aad_object_id"),
        )
        try:
            submitted = await self._requests.submit(
                caller,
                agency_id=v["agency_id"],
                line_manager_id=v["manager_id"],
                boards=self._boards,
            )
        except Refused as refusal:
            await step.context.send_activity(refusal.reason)
            return await step.end_dialog()
        note_saved(step.context, f"Your request {submitted.request.id} is stored.")
        await self._on_request(step.context, submitted)
        request = submitted.request
        agency_name = self._boards.name(request.agency_id)
        if submitted.approvers:
            told = names([a.person.name for a in submitted.approvers])
            await step.context.send_activity(
                f"Your request {request.id} to join {agency_name} is stored and goes to {told} "
                "to approve. I will tell you here when it is decided. Until then you can read "
                "'help' and the signposts, but you cannot raise a disagreement, see a case or "
                "act on one."
            )
        else:
            snapshot = await self._directory.snapshot()
            await step.context.send_activity(
                f"Your request {request.id} to join {agency_name} is stored, but nobody at "
                f"{agency_name} can approve it in Teams: ask "
                f"{who_to_ask(self._boards.contacts(snapshot, request.agency_id))} to approve "
                f"request {request.id}. Until then you cannot raise a disagreement, see a case or "
                "act on one."
            )
        return await step.end_dialog()
