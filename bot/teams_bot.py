"""The Teams activity handler: who is speaking, what they asked, and the answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import ChannelAccount

from escalation.directory import Person
from escalation.packs import PackRegistry
from storage.settings import Storage

log = logging.getLogger("escalation.bot")

HELP = (
    "I run your Safeguarding Adults Board's policy for resolving professional disagreements "
    "about an adult at risk.\n\n"
    "- **cases**: your open cases, their stage and what falls due next\n"
    "- **help**: this message\n\n"
    "This is not a complaints process: complaints from the adult or their family go through the "
    "agency concerned. If an adult is in immediate danger, call 999."
)


@dataclass
class EscalationBot(TeamsActivityHandler):  # type: ignore[misc]
    storage: Storage
    packs: PackRegistry

    def __post_init__(self) -> None:
        super().__init__()

    async def person(self, context: TurnContext) -> Person | None:
        sender = context.activity.from_property
        if sender is None:
            return None
        for teams_id in (sender.aad_object_id, sender.id):
            if teams_id:
                found = await self.storage.directory.find_by_teams_id(teams_id)
                if found is not None:
                    return found
        return None

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        person = await self.person(turn_context)
        if person is not None:
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            await self.storage.conversations.save_person_reference(person.id, reference.serialize())
        text = (turn_context.activity.text or "").strip().lower()
        if text in ("cases", "my cases"):
            await turn_context.send_activity(MessageFactory.text(await self.cases_text(person)))
            return
        await turn_context.send_activity(MessageFactory.text(HELP))

    async def cases_text(self, person: Person | None) -> str:
        if person is None:
            return (
                "You are not in the board's directory yet, so I cannot show you cases. Ask your "
                "board's business manager to add you."
            )
        summaries = [
            s for s in await self.storage.cases.cases_of_person(person.id) if s.status != "closed"
        ]
        if not summaries:
            return "You have no open cases."
        lines = [f"You have {len(summaries)} open case(s):"]
        for s in sorted(summaries, key=lambda s: (s.next_due is None, s.next_due)):
            pack = self.packs.get(s.board_id)
            stage = pack.stage(s.stage)
            due = "nothing due"
            if s.next_due is not None:
                tz = pack.calendar.timezone
                from zoneinfo import ZoneInfo

                due = f"next due {s.next_due.astimezone(ZoneInfo(tz)):%a %d %b %H:%M}"
            risk = " — IMMEDIATE RISK" if s.immediate_risk else ""
            lines.append(f"- {s.case_id}: stage {stage.id} ({stage.short_name}), {due}{risk}")
        return "\n".join(lines)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id != bot_id for member in members_added):
            await turn_context.send_activity(MessageFactory.text("Welcome. " + HELP))
