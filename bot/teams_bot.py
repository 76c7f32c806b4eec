"""The Teams activity handler: who is speaking, what they asked, and the answer."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

from botbuilder.core import (
    ConversationState,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.dialogs import DialogContext, DialogSet, DialogState, DialogTurnStatus
from botbuilder.schema import Activity, ChannelAccount
from botbuilder.schema.teams import TeamInfo

from bot.card_actions import CardActionError, command_for, parse_action
from bot.identity import Identity, identify
from bot.join_actions import JoinActions, is_join_action
from bot.json_body import JsonAnswer
from bot.logs import case_id_var
from bot.messages import card_message
from bot.people_search import SEARCH_INVOKE, people_search
from bot.report_links import ReportLinks
from bot.turn_errors import note_saved
from bot.wire import reference_json
from cards.case_card import case_card
from cards.case_list import case_list_text
from cards.outcome_cards import done_card, refusal_card
from cards.picker_card import is_dialog_answer, search_response
from cards.summary_card import summary_card
from cards.views import CASE_VERBS, REFRESH, CaseView, case_view
from cards.welcome import HELP as HELP_VERB
from cards.welcome import MY_CASES, RAISE, welcome_card
from dialogs.base import BESIDE_SAVE
from dialogs.profile_dialog import ProfileDialog
from dialogs.raise_dialog import RESUME, SAVING_AS, RaiseDialog
from escalation.access import ViewLevel, no_case_message, view_level
from escalation.access_log import AccessEntry, Seen, record_access
from escalation.calendar import calendar_for
from escalation.case import Case, CaseStatus
from escalation.directory import Directory, Person
from escalation.done import done_message
from escalation.errors import RefusalCode, Refused
from escalation.joining import BoardAgencies
from escalation.packs import PackRegistry
from escalation.service import Alongside, EscalationService
from reports.figures import board_report, financial_year_start
from reports.load import board_cases
from storage.bot_state import TableConversationState
from storage.join_requests import Submitted
from storage.purge import DEFAULT_IDLE_DAYS
from storage.stores import Storage

log = logging.getLogger("escalation.bot")

HELP = (
    "I run your safeguarding board's policy for resolving professional disagreements about a "
    "person at risk.\n\n"
    "- **raise**: raise a disagreement with a professional in another agency\n"
    "- **cases**: your open cases: the other agency, the stage, the next deadline and what "
    "waits on you\n"
    "- **case RB-2026-XXXXXX**: the case card, with what you can do now\n"
    "- **profile**: your agency and line manager\n"
    "- **summary**: the board's figures for the year to date (board roles)\n"
    "- **help**: this message; **cancel** stops a question you are answering\n\n"
    "This is not a complaints process: complaints from the person at risk or their family go "
    "through the agency concerned. If anyone is in immediate danger, call 999."
)
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
WELCOME_VERBS = {RAISE: "raise", MY_CASES: "cases", HELP_VERB: "help"}
CASE_ID = re.compile(r"\b([A-Z]{2,5}-\d{4}-[A-Z0-9]{4,8})\b")
IDENTITY = "escalation.identity"  # the turn's Identity, in turn_state
DIALOGS = "dialogs"  # the conversation state's property that holds the dialogs' state
# The conversation state's property that holds the raise being saved (end_dialogs_beside).
RAISING = "raising"
NOTED = "escalation.raising"  # in turn_state: the case id a note of a raise was written for
ANSWERED_KEPT = 10_000
RAISE_WORDS = frozenset({"raise", "raise a disagreement", "new"})


def card_answer(kind: str, value: dict[str, Any]) -> InvokeResponse:
    """An invoke's 200 with a card (or a search's results): the JSON msrest writes for
    `AdaptiveCardInvokeResponse(status_code=200, type=kind, value=value)`, in its order, made
    directly (bot.json_body.JsonAnswer). Not botbuilder's own handler for card actions, which
    serializes its answer twice under CloudAdapter (a 500)."""
    body = JsonAnswer({"statusCode": int(HTTPStatus.OK), "type": kind, "value": value})
    return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def id_in(channel_data: object, key: str) -> str | None:
    """`channelData[key].id` (the tenant, team or channel) when the activity carries one."""
    part = channel_data.get(key) if isinstance(channel_data, dict) else None
    found = part.get("id") if isinstance(part, dict) else None
    return found if isinstance(found, str) and found.strip() else None


def reference_with_tenant(turn_context: TurnContext) -> dict[str, Any]:
    """The conversation reference, keeping the tenant (botbuilder's model drops it), which a
    proactive message needs to start a chat."""
    activity = turn_context.activity
    reference = reference_json(activity)
    tenant = id_in(activity.channel_data, "tenant")
    if tenant:
        reference["tenant"] = tenant
    return reference


def text_for_the_bot(activity: Activity) -> str:
    """The message's text without the bot's own mention (`<at>Escalation</at> set channel`).

    botbuilder's remove_recipient_mention uses the mention's text as a regular expression, and
    fails on a message with a mention and no text; this removes it as plain text.
    """
    text = activity.text if isinstance(activity.text, str) else ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if not isinstance(entity.type, str) or entity.type.lower() != "mention":
            continue
        extra = entity.additional_properties or {}
        mentioned, said = extra.get("mentioned"), extra.get("text")
        if isinstance(mentioned, dict) and mentioned.get("id") == bot_id and isinstance(said, str):
            text = text.replace(said, "") if said.strip() else text
    return text.strip()


class EscalationBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(
        self,
        *,
        storage: Storage,
        packs: PackRegistry,
        service: EscalationService,
        conversation_state: ConversationState,
        now: Callable[[], datetime],
        links: ReportLinks,
    ) -> None:
        super().__init__()
        self.links = links
        self.storage = storage
        self.packs = packs
        self.service = service
        self.state = conversation_state
        self.now = now
        self.dialogs = DialogSet(conversation_state.create_property(DIALOGS))
        self.raising = conversation_state.create_property(RAISING)
        # The cases whose raise turn ended here (saved, its id said), by id, oldest first: the
        # next message drops its note without asking storage. Another instance, or this one
        # after a restart, reads the case instead (settle_raise).
        self._answered: dict[str, None] = {}
        self.boards = BoardAgencies.of(packs)
        self.joins = JoinActions(storage, self.boards)
        self.dialogs.add(
            ProfileDialog(
                boards=self.boards,
                directory=storage.directory,
                requests=storage.requests,
                on_request=self.remember_requester,
            )
        )
        self.dialogs.add(
            RaiseDialog(
                packs=packs,
                directory=storage.directory,
                service=service,
                today=lambda: self.now().astimezone(ZoneInfo("Europe/London")).date(),
            )
        )

    async def on_turn(self, turn_context: TurnContext) -> None:
        def beside(answers: Mapping[str, Any]) -> Alongside:
            return lambda case: self.end_dialogs_beside(turn_context, case, answers)

        turn_context.turn_state[BESIDE_SAVE] = beside
        try:
            await super().on_turn(turn_context)
        except BaseException:
            if isinstance(self.state, TableConversationState):
                await self.state.undo(turn_context)  # a state written ahead of a failed save
            raise
        finally:
            # `beside` holds the turn's context, which holds it: a cycle that only the garbage
            # collector would free, with all the turn made (tests/e2e/test_turn_garbage.py).
            del turn_context.turn_state[BESIDE_SAVE]
        await self.drop_answered_note(turn_context)
        await self.state.save_changes(turn_context)
        noted = turn_context.turn_state.get(NOTED)
        if isinstance(noted, str):
            # The raise saved, and the person was told its id: nothing to settle next time.
            self._answered[noted] = None
            while len(self._answered) > ANSWERED_KEPT:
                del self._answered[next(iter(self._answered))]

    async def end_dialogs_beside(
        self, turn_context: TurnContext, case: Case, answers: Mapping[str, Any]
    ) -> None:
        """Write the conversation's state as it will be once the raise dialog that is saving
        `case` has ended (no dialog open), beside the case's save (dialogs.base.BesideSave),
        with a note of the raise in flight: if the process stops before the case's own save
        lands, the person's next message finds that note and no case (settle_raise)."""
        if not isinstance(self.state, TableConversationState):
            return
        note = {
            "case_id": case.id,
            "board": case.board_id,
            "at": self.now().isoformat(),
            "answers": dict(answers),
        }
        if await self.state.write_ahead(turn_context, {DIALOGS: DialogState(), RAISING: note}):
            # The turn ends with the note too, so its own save has nothing more to write; the
            # next message drops it (one read of the case).
            await self.raising.set(turn_context, note)
            turn_context.turn_state[NOTED] = case.id

    async def drop_answered_note(self, turn_context: TurnContext) -> None:
        """The note of a raise whose turn ended here (settle_raise) goes when the state is
        written anyway: a write of its own would be one more wait on the turn after a raise."""
        cached = self.state.get_cached_state(turn_context)
        if cached is None or not self._answered:
            return  # a turn that never read the state (a card action), or nothing to drop
        note = await self.raising.get(turn_context)
        case_id = note.get("case_id") if isinstance(note, dict) else None
        if not isinstance(case_id, str) or case_id not in self._answered:
            return
        # Only now ask whether the state changed: asking serializes it.
        if getattr(cached, "is_changed", False):
            await self.raising.delete(turn_context)
            del self._answered[case_id]

    async def settle_raise(self, turn_context: TurnContext, dc: DialogContext) -> bool:
        """On a message after a raise was being saved (its note in the conversation's state,
        end_dialogs_beside), whether that case was saved. If its turn ended on this instance,
        the person was told the case's id, and the note goes silently; otherwise (a restart,
        another instance) the case is read. If it was saved, the note goes silently, except
        that "raise" is told the case's id (its reply may have been lost) rather than asked
        everything again. If not (the process stopped while saving it), the person is told so
        and asked again to confirm the same answers, which open the case as the id it was
        being saved as, so that it can never be opened twice; a note too old to keep (as
        dialog state is, storage.purge) or for a board no longer here goes, with a plain
        message. True when that answered the message. The note holds what the person typed:
        it is never logged."""
        note = await self.raising.get(turn_context)
        if note is None:
            return False
        case_id = note.get("case_id") if isinstance(note, dict) else None
        answers = note.get("answers") if isinstance(note, dict) else None
        if isinstance(case_id, str) and case_id in self._answered:
            # Its turn ended here, having said the case's id: nothing to ask, and the note
            # goes with the next write the state gets anyway (drop_answered_note).
            return False
        await self.raising.delete(turn_context)
        if not isinstance(case_id, str) or not isinstance(answers, dict):
            return False
        try:
            await self.service.stored(case_id)
        except Refused:
            pass  # not saved
        else:
            if text_for_the_bot(turn_context.activity).lower() not in RAISE_WORDS:
                return False
            await turn_context.send_activity(
                f"Your last disagreement was saved: case {case_id} is open. To raise another, "
                "type 'raise' again."
            )
            return True
        try:
            at: datetime | None = datetime.fromisoformat(str(note.get("at")))
        except ValueError:
            at = None
        board = note.get("board")
        if at is None or at < self.now() - timedelta(days=DEFAULT_IDLE_DAYS):
            await turn_context.send_activity(
                "A disagreement you were raising a while ago was not saved: I stopped while "
                "saving it, and your answers are no longer kept. Type 'raise' to start again."
            )
            return False
        if board not in self.packs.board_ids():
            await turn_context.send_activity(
                "A disagreement you were raising was not saved: I stopped while saving it, and "
                "its board is no longer run here, so your answers are not kept."
            )
            return False
        await turn_context.send_activity(
            "Your disagreement was not saved: I stopped while saving it. Your answers are kept: "
            "check them, then answer yes to raise it."
        )
        if dc.active_dialog is not None:
            await dc.cancel_all_dialogs()
        await dc.begin_dialog("raise", {RESUME: {**answers, SAVING_AS: case_id}})
        return True

    async def identity(self, context: TurnContext) -> Identity:
        """Who is speaking (bot.identity), worked out once a turn."""
        known = context.turn_state.get(IDENTITY)
        if isinstance(known, Identity):
            return known
        found = await identify(context.activity, self.storage.directory, self.boards)
        context.turn_state[IDENTITY] = found
        return found

    async def person(self, context: TurnContext) -> Person | None:
        """The person speaking, when they may act: an active entry of the directory, known by
        the tenant and object id the activity comes from, at an agency that lists that tenant."""
        return (await self.identity(context)).person

    async def remember_requester(self, context: TurnContext, submitted: Submitted) -> None:
        """Keep the chat of someone who asked to join, so the decision reaches them."""
        await self.storage.conversations.save_person_reference(
            submitted.request.person_id, reference_with_tenant(context)
        )

    async def begin_profile(self, turn_context: TurnContext, dc: DialogContext) -> None:
        """A request to join or change, for a person the tenant and Teams ids vouch for."""
        identity = await self.identity(turn_context)
        caller = identity.caller()
        if caller is None or (identity.entry is not None and not identity.tenant_listed):
            await turn_context.send_activity(identity.problem)
            return
        await dc.begin_dialog("profile", ProfileDialog.options_for(caller))

    # -- messages -----------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        person = await self.person(turn_context)
        conversation = turn_context.activity.conversation
        if person is not None and conversation.conversation_type in (None, "personal"):
            # Only their own chat with the bot: a case card sent later must never land in a
            # channel or a group chat they happened to write in last. Kept (when it changed)
            # while the conversation's state is read.
            _, dc = await asyncio.gather(
                self.storage.conversations.save_person_reference(
                    person.id, reference_with_tenant(turn_context)
                ),
                self.dialogs.create_context(turn_context),
            )
        else:
            dc = await self.dialogs.create_context(turn_context)
        value = turn_context.activity.value
        verb = value.get("verb") if isinstance(value, dict) else None
        if isinstance(verb, str) and verb in WELCOME_VERBS:
            turn_context.activity.text = WELCOME_VERBS[verb]  # a welcome card button
        elif value and not turn_context.activity.text and not is_dialog_answer(value):
            await self.on_card_submit(turn_context, person)  # the Action.Submit fallback
            return
        if await self.settle_raise(turn_context, dc):
            return
        # A choice card's answer goes to the dialog that asked, as typed text does.
        result = await dc.continue_dialog()
        if result.status != DialogTurnStatus.Empty:
            return
        if is_dialog_answer(value):
            await turn_context.send_activity(
                "That question is no longer open. Type 'raise' to start again."
            )
            return
        text = text_for_the_bot(turn_context.activity)
        lowered = text.lower()
        if lowered in ("set channel", "set business manager channel"):
            await turn_context.send_activity(await self.set_channel(turn_context, person))
            return
        if lowered in RAISE_WORDS:
            if person is None:
                identity = await self.identity(turn_context)
                if identity.entry is None and identity.can_join:
                    await turn_context.send_activity(
                        "First, ask to join your agency: your line manager or your agency's "
                        "administrator approves it, and then you can raise."
                    )
                    await self.begin_profile(turn_context, dc)
                else:
                    await turn_context.send_activity(identity.problem)
                return
            await dc.begin_dialog("raise", {"person_id": person.id})
            return
        if lowered in ("profile", "my profile"):
            await self.begin_profile(turn_context, dc)
            return
        if lowered in ("summary", "board summary"):
            await self.send_summaries(turn_context, person)
            return
        if lowered in ("cases", "my cases"):
            if person is None:
                await turn_context.send_activity((await self.identity(turn_context)).problem)
                return
            await turn_context.send_activity(MessageFactory.text(await self.cases_text(person)))
            return
        found = CASE_ID.search(text.upper())
        if lowered.startswith("case") and found and person is None:
            await turn_context.send_activity((await self.identity(turn_context)).problem)
            return
        if lowered.startswith("case") and found and person is not None:
            await self.show_case_by_id(turn_context, found.group(1), person)
            return
        await turn_context.send_activity(MessageFactory.text(HELP))

    async def set_channel(self, turn_context: TurnContext, person: Person | None) -> str:
        """Make this team channel the business-manager channel of the boards the person serves."""
        activity = turn_context.activity
        channel = id_in(activity.channel_data, "channel")
        team = id_in(activity.channel_data, "team")
        if activity.conversation.conversation_type != "channel" or not channel or not team:
            return "Do this in the team channel that should get the copies, by mentioning me there."
        if person is None:
            return (await self.identity(turn_context)).problem
        channels = self.packs.channel_names()
        boards = sorted({board for board, _ in person.board_roles if board in channels})
        if not boards:
            return (
                "Only someone with a board role (such as the business manager) can set the channel."
            )
        reference = reference_json(activity)
        for board in boards:
            await self.storage.conversations.set_channel(
                board, reference, set_by=person.id, team_id=team, channel_id=channel
            )
        names = ", ".join(channels[b] for b in boards)
        return f"This channel now gets the business manager's copies for {names}."

    async def send_summaries(self, turn_context: TurnContext, person: Person | None) -> None:
        """A board role's headline figures for the year to date, with a link to the full report."""
        boards = (
            sorted({b for b, _ in person.board_roles if b in self.packs.board_ids()})
            if person
            else []
        )
        if person is None or not boards:
            await turn_context.send_activity("The board summary is for people with a board role.")
            return
        for board_id in boards:
            pack = self.packs.get(board_id)
            today = calendar_for(pack).local_date(self.now())
            start = financial_year_start(today)
            cases = await board_cases(self.storage, board_id)
            report = board_report(cases, pack, start=start, end=today)
            url = self.links.make(board_id, start, today, viewer=person.id)
            card = summary_card(report, title="Year to date", report_url=url)
            await turn_context.send_activity(card_message(card))

    @staticmethod
    def not_in_directory() -> str:
        return (
            "You are not in the board's directory yet, so I cannot act for you. Type 'profile' "
            "to ask to join your agency: your line manager or your agency's administrator "
            "approves it."
        )

    async def cases_text(self, person: Person | None) -> str:
        """The person's open cases, one Markdown line each (cards.case_list)."""
        if person is None:
            return self.not_in_directory()
        # The index only finds candidates; the case itself says whether the person sees it,
        # and what of it (escalation.access, through the view).
        directory = await self.storage.directory.snapshot()
        now = self.now()
        views = []
        summaries = [
            summary
            for summary in await self.storage.cases.cases_of_person(person.id)
            if summary.status != "closed" and summary.board_id in self.packs.board_ids()
        ]
        found = await asyncio.gather(
            *(self.service.case(summary.case_id) for summary in summaries),
            return_exceptions=True,
        )
        for case in found:
            if isinstance(case, Refused):
                continue  # a hint that points at nothing
            if isinstance(case, BaseException):
                raise case
            if case.status == CaseStatus.CLOSED or case.board_id not in self.packs.board_ids():
                continue
            pack = self.packs.get(case.board_id)
            view = case_view(case, pack, directory, now=now, viewer_id=person.id)
            if view.level != ViewLevel.NONE:
                views.append(view)
        return case_list_text(views)

    # -- cards --------------------------------------------------------------------------------

    async def log_view(self, case_id: str, person: Person, what: Seen, level: str) -> None:
        """Record that the person was shown the case; a failure is logged, the answer still goes."""
        entry = AccessEntry(case_id, person.id, str(what), self.now(), str(level))
        await record_access(self.storage.access_log, entry)

    async def show_case(
        self, turn_context: TurnContext, case: Case, what: Seen = Seen.CARD
    ) -> None:
        person = await self.person(turn_context)
        if person is None or not await self.may_see(case, person):
            await turn_context.send_activity(no_case_message(case.id))
            return
        directory = await self.storage.directory.snapshot()
        pack = self.packs.get(case.board_id)
        view = case_view(case, pack, directory, now=self.now(), viewer_id=person.id)
        await self.log_view(case.id, person, what, view.level)
        await turn_context.send_activity(card_message(case_card(view)))

    async def show_case_by_id(
        self, turn_context: TurnContext, case_id: str, person: Person
    ) -> None:
        try:
            case = await self.service.case(case_id)
        except Refused:
            await turn_context.send_activity(no_case_message(case_id))
            return
        await self.show_case(turn_context, case, Seen.CASE)

    async def may_see(self, case: Case, person: Person, directory: Directory | None = None) -> bool:
        """Whether the person has any view of the case, decided from the case itself
        (escalation.access): an index row, which a lost race can leave, grants nothing."""
        if case.board_id not in self.packs.board_ids():
            return False
        if directory is None:
            directory = await self.storage.directory.snapshot()
        level = view_level(case, self.packs.get(case.board_id), directory, person.id)
        return level != ViewLevel.NONE

    async def act(
        self, turn_context: TurnContext, value: object, person: Person | None
    ) -> dict[str, Any]:
        """Run a card action; the card to show in place of the one that was clicked."""
        if is_join_action(value):  # Approve or Decline on a request to join an agency
            identity = await self.identity(turn_context)
            return await self.joins.act(value, identity.person, identity.problem)
        try:
            action = parse_action(value)
        except CardActionError as exc:
            return refusal_card(None, str(exc))
        if person is None:
            return refusal_card(None, (await self.identity(turn_context)).problem)
        try:
            stored = await self.service.stored(action.case_id)
        except Refused:
            return refusal_card(None, no_case_message(action.case_id))
        case = stored.case
        case_id_var.set(case.id)  # a case that exists: the logs never carry an id as sent
        if not await self.may_see(case, person):
            return refusal_card(None, no_case_message(action.case_id))
        pack = self.packs.get(case.board_id)
        directory = await self.storage.directory.snapshot()
        if action.verb == REFRESH:
            view = case_view(case, pack, directory, now=self.now(), viewer_id=person.id)
            await self.log_view(case.id, person, Seen.REFRESH, view.level)
            return case_card(view)
        tz = ZoneInfo(pack.calendar.timezone)
        now = self.now()
        shown: list[tuple[Case, CaseView]] = []

        async def log_card(after: Case) -> None:
            # The card shown after the action, logged beside the change's save (one wait). A
            # change that loses a race is decided again and logged again: the log may then hold
            # one view more than the person was shown, never one fewer.
            view = case_view(after, pack, directory, now=now, viewer_id=person.id)
            shown.append((after, view))
            await self.log_view(case.id, person, Seen.CARD, view.level)

        try:
            command = command_for(action, person.id, tz)
            outcome = await self.service.execute(command, known=stored, alongside=log_card)
        except (Refused, CardActionError) as exc:
            reason = exc.reason if isinstance(exc, Refused) else str(exc)
            log.info(
                "card action %s on %s refused: %s",
                action.verb if action.verb in CASE_VERBS else "(unknown verb)",
                case.id,
                getattr(exc, "code", "input"),
            )
            # The case the refusal was decided on (read once); after lost races, as it is now.
            fresh = case
            if isinstance(exc, Refused) and isinstance(exc.case, Case):
                fresh = exc.case
            elif isinstance(exc, Refused) and exc.code == RefusalCode.CONFLICT:
                fresh = await self.service.case(case.id)
            view = case_view(fresh, pack, directory, now=self.now(), viewer_id=person.id)
            await self.log_view(case.id, person, Seen.CARD, view.level)
            return refusal_card(view, reason)
        note_saved(turn_context, f"Your change to case {case.id} is saved.")
        view = next((v for c, v in shown if c is outcome.case), None) or case_view(
            outcome.case, pack, directory, now=now, viewer_id=person.id
        )
        said = done_message(action.verb, outcome, pack, directory, person.id, self.now())
        return done_card(view, said)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == SEARCH_INVOKE:
            return await self.on_people_search(turn_context)
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        person = await self.person(turn_context)
        card = await self.act(turn_context, turn_context.activity.value, person)
        return card_answer(CARD_TYPE, card)

    async def on_people_search(self, turn_context: TurnContext) -> InvokeResponse:
        """Teams' typeahead in the people picker: only the card's agency's people, only to a
        person the directory knows (bot.people_search); anything else gets no results."""
        found = await people_search(
            self.storage.directory,
            self.packs,
            await self.person(turn_context),
            turn_context.activity.value,
        )
        answer = search_response(found)
        return card_answer(answer["type"], answer["value"])

    async def on_card_submit(self, turn_context: TurnContext, person: Person | None) -> None:
        card = await self.act(turn_context, turn_context.activity.value, person)
        attachment = card_message(card)
        reply_to = turn_context.activity.reply_to_id
        if reply_to:
            attachment.id = reply_to
            await turn_context.update_activity(attachment)
        else:
            await turn_context.send_activity(attachment)

    # -- installation -------------------------------------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        if turn_context.activity.channel_data is None:
            # botbuilder's Teams handler reads channelData's team without checking it is there.
            turn_context.activity.channel_data = {}
        await super().on_conversation_update_activity(turn_context)

    async def on_teams_members_added_dispatch(
        self,
        members_added: list[ChannelAccount],
        team_info: TeamInfo | None,
        turn_context: TurnContext,
    ) -> None:
        # botbuilder first asks Teams about each member (TeamsInfo.get_member, which passes
        # channelData's keys to a model as arguments, and its warnings log them); the welcome
        # needs only the members' ids.
        await self.on_members_added_activity(members_added, turn_context)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id != bot_id for member in members_added):
            # A person the directory knows sees their own board's signposts, not every board's.
            person = await self.person(turn_context)
            packs = [p for p in self.packs if person is not None and p.agency(person.agency_id)]
            packs = packs or list(self.packs)
            names = [pack.board.name for pack in packs]
            signposts = [sign for pack in packs for sign in pack.signposts]
            people = [pack.words.person for pack in packs]
            await turn_context.send_activity(card_message(welcome_card(names, signposts, people)))
