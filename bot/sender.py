"""Proactive sending: the outbox's messages to people's chats and to the business-manager channel.

Each message is a card built now, from the case as it stands, for the person it goes to. Teams
answers 429 past 7 messages a second in one conversation: the pacer keeps under that, and a 429
or 5xx becomes a later attempt (honouring Retry-After); a person who removed the app is a
permanent failure, recorded so the raiser can be told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.bot_adapter import BotAdapter
from botbuilder.schema import ChannelAccount, ConversationParameters, ConversationReference
from botbuilder.schema.teams import ChannelInfo, TeamsChannelData

from bot.logs import case_id_var
from bot.messages import card_message
from bot.report_links import ReportLinks
from bot.wire import from_json, reference_json
from cards.case_card import case_card
from cards.copy_card import business_manager_copy_card
from cards.nudge_card import NudgeKind, nudge_card
from cards.summary_card import summary_card
from cards.views import case_view
from cards.welcome import signpost_card
from escalation.access import ViewLevel
from escalation.access_log import AccessEntry, Seen, record_access, record_accesses
from escalation.case import Case
from escalation.delivery import Delivery, DeliveryResult, after_failure
from escalation.directory import tenant_key
from escalation.notifications import Notification
from escalation.packs import PackRegistry
from escalation.sweep import MONTHLY_SUMMARY
from reports.figures import board_report, month_before
from reports.load import board_cases
from storage.stores import Storage

log = logging.getLogger("escalation.sender")

PER_CONVERSATION_INTERVAL = 1 / 6  # Teams allows 7 a second per conversation; keep under it


class Pacer:
    """Spaces sends to one conversation so that Teams never has to throttle us."""

    def __init__(
        self,
        interval: float = PER_CONVERSATION_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}

    async def wait(self, conversation_id: str) -> None:
        last = self._last.get(conversation_id)
        now = self._clock()
        if last is not None and now - last < self._interval:
            await self._sleep(self._interval - (now - last))
            now = last + self._interval
        if len(self._last) > 10_000:  # conversations come and go; bound the memory
            self._last.clear()
        self._last[conversation_id] = now


def _status_of(error: BaseException) -> tuple[int | None, float | None]:
    """The HTTP status and Retry-After (seconds) of a connector error, where it has them."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(retry_after) if retry_after is not None else None
    except ValueError:
        seconds = None
    return (int(status) if status else None), seconds


def classify(error: BaseException) -> Delivery:
    """A connector error, as the core's delivery-failure policy reads it."""
    status, retry_after = _status_of(error)
    wait = timedelta(seconds=retry_after) if retry_after is not None else None
    return after_failure(status, retry_after=wait, fault=type(error).__name__)


class TeamsSender:
    def __init__(
        self,
        *,
        adapter: BotAdapter,
        app_id: str,
        storage: Storage,
        packs: PackRegistry,
        now: Callable[[], datetime],
        links: ReportLinks | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._links = links
        self._adapter = adapter
        self._app_id = app_id or None
        self._storage = storage
        self._packs = packs
        self._now = now
        self._pacer = pacer or Pacer()
        self._raisers: dict[str, str | None] = {}  # by notification key, while it is sent
        # While a dispatch pass runs (`one_pass`): each case as it was first read in the pass,
        # and the views its cards made, logged together at its end.
        self._pass_cases: dict[str, Case | None] | None = None
        self._pass_views: list[AccessEntry] | None = None

    @contextlib.asynccontextmanager
    async def one_pass(self) -> AsyncIterator[None]:
        """Within this, a case is read and folded once however many of its messages go out:
        the messages of one pass show the case as the pass found it (a change saved meanwhile
        queues messages of its own, sent with it as it then is). The views the pass's cards
        made are logged as it ends, one write per case rather than one per card."""
        self._pass_cases = {}
        self._pass_views = []
        try:
            yield
        finally:
            views = self._pass_views
            self._pass_cases = self._pass_views = None
            await record_accesses(self._storage.access_log, views)

    async def _case(self, case_id: str) -> Case | None:
        cases = self._pass_cases
        if cases is not None and case_id in cases:
            return cases[case_id]
        stored = await self._storage.cases.load(case_id)
        case = None if stored is None else stored.case
        if cases is not None:
            cases[case_id] = case
        return case

    async def __call__(self, notification: Notification) -> Delivery:
        case_id_var.set(notification.case_id)
        try:
            return await self._deliver(notification)
        finally:
            self._raisers.pop(notification.key, None)

    async def _deliver(self, notification: Notification) -> Delivery:
        try:
            built = await self._card(notification)
            if built is None:
                return Delivery(DeliveryResult.SENT)  # the case is gone (purged): nothing to say
            card, level = built
            if notification.recipient.kind == "channel":
                delivery = await self._to_channel(notification, card)
            else:
                delivery = await self._to_person(notification, card)
            if delivery.result == DeliveryResult.SENT and level:
                await self._log_view(notification, level)
            return delivery
        except Exception as exc:  # any fault is classified: a later attempt or a recorded failure
            log.warning("sending %s failed: %s", notification.kind, type(exc).__name__)
            return classify(exc)

    async def _log_view(self, notification: Notification, level: str) -> None:
        """A case card that reached someone is a view of the case (the board's access log)."""
        recipient = notification.recipient
        who = recipient.id if recipient.kind == "person" else f"channel:{recipient.id}"
        what = Seen.CARD if recipient.kind == "person" else Seen.COPY
        entry = AccessEntry(notification.case_id, who, str(what), self._now(), level)
        if self._pass_views is not None:
            self._pass_views.append(entry)
        else:
            await record_access(self._storage.access_log, entry)

    async def _card(self, notification: Notification) -> tuple[dict[str, Any], str] | None:
        """The card to send, and the view of the case it shows ("" for no case's view)."""
        if notification.kind == MONTHLY_SUMMARY:
            summary = await self._monthly_summary(notification)
            return None if summary is None else (summary, "")
        case = await self._case(notification.case_id)
        if case is None:
            return None
        self._raisers[notification.key] = case.raiser.person_id  # for _to_person
        pack = self._packs.get(case.board_id)
        if notification.kind == "signpost":
            # Where else a concern should go (the MASH, say): the pack's signpost, not the case.
            signpost = pack.signpost(notification.details.get("signpost", ""))
            if signpost is None:
                return None
            return signpost_card(signpost, pack.words.person), ""
        directory = await self._storage.directory.snapshot()
        viewer = notification.recipient.id if notification.recipient.kind == "person" else None
        view = case_view(case, pack, directory, now=self._now(), viewer_id=viewer)
        level = str(view.level)
        if notification.recipient.kind == "channel":
            return business_manager_copy_card(view, notification.reason), str(ViewLevel.COPY)
        nudge = notification.details.get("nudge")
        if nudge:
            # A nudge queued earlier is sent only if its clock still runs to the same deadline:
            # a case that moved on, was resolved or got a protective deadline cancels it.
            clock = case.running_clock(notification.stage, notification.details.get("clock", ""))
            due = notification.details.get("due")
            if clock is None or due is None or datetime.fromisoformat(due) != clock.effective_due:
                log.info("nudge on %s no longer due; not sent", notification.case_id)
                return None
            kind: NudgeKind = "overdue" if nudge == "overdue_reminder" else nudge  # type: ignore[assignment]
            return nudge_card(view, clock.clock, kind), level
        return case_card(view, notice=notification.reason), level

    async def _monthly_summary(self, notification: Notification) -> dict[str, Any] | None:
        """Last month's figures for the business-manager channel (cases raised in that month)."""
        pack = self._packs.get(notification.recipient.id)
        first, last = month_before(
            date.fromisoformat(notification.details["month"] + "-01") + timedelta(days=32)
        )
        report = board_report(
            await board_cases(self._storage, pack.board.id), pack, start=first, end=last
        )
        url = (
            self._links.make(
                pack.board.id,
                first,
                last,
                viewer=f"channel:{pack.board.id}",
                ttl=timedelta(days=31),
            )
            if self._links
            else None
        )
        return summary_card(report, title=f"Monthly summary, {first:%B %Y}", report_url=url)

    async def _send(self, reference: ConversationReference, card: dict[str, Any]) -> None:
        errors: list[Exception] = []

        async def callback(turn_context: TurnContext) -> None:
            # The adapter's turn-error handler would swallow a failed send: keep it to classify.
            try:
                await turn_context.send_activity(card_message(card))
            except Exception as exc:
                errors.append(exc)

        await self._pacer.wait(reference.conversation.id)
        await self._adapter.continue_conversation(reference, callback, self._app_id)
        if errors:
            raise errors[0]

    async def _to_person(self, notification: Notification, card: dict[str, Any]) -> Delivery:
        # The raiser has talked to the bot: where the recipient signs in from the same tenant,
        # a chat with them is started on the raiser's service URL.
        if notification.key in self._raisers:  # the case as _card read it
            raiser = self._raisers[notification.key]
        else:
            case = await self._case(notification.case_id)
            raiser = case.raiser.person_id if case else None
        return await self.to_person(notification.recipient.id, card, template_person_id=raiser)

    async def to_person(
        self, person_id: str, card: dict[str, Any], *, template_person_id: str | None
    ) -> Delivery:
        """Send a card to a person's chat with the bot; without one yet, start it by their Teams
        id in their own tenant (see `_chat_place`); `template_person_id` is someone who has
        talked to the bot, whose service URL serves when they sign in from the same tenant."""
        try:
            stored = await self._storage.conversations.person_reference(person_id)
            if stored is not None:
                await self._send(from_json(ConversationReference, stored), card)
                return Delivery(DeliveryResult.SENT)
            why_not = await self._start_chat(person_id, card, template_person_id)
        except Exception as exc:  # any fault is classified: a later attempt or a failure
            log.warning("sending to a person failed: %s", type(exc).__name__)
            return classify(exc)
        if why_not is None:
            return Delivery(DeliveryResult.SENT)
        # Tried again later: the person, or someone from their tenant, may open the bot meanwhile.
        return Delivery(DeliveryResult.RETRY, retry_after=timedelta(hours=1), error=why_not)

    async def _chat_place(
        self, person_id: str, template_person_id: str | None
    ) -> tuple[ConversationReference, str] | str:
        """Where to start a 1:1 chat with someone who has not talked to the bot: the Microsoft
        Entra tenant they sign in from (the one their agency registers in the directory) and a
        service URL the bot has heard from that tenant, from `template_person_id`'s chat when
        it is in that tenant, else from anyone's. Teams creates the chat in the tenant it is
        given, so another agency's tenant or service URL would never reach them. Returns why
        not, when there is no such place."""
        directory = await self._storage.directory.snapshot()
        person = directory.person(person_id)
        if person is None:
            return "this person is not in the directory"
        tenants = sorted(directory.agency(person.agency_id).tenants)
        if not tenants:
            return (
                f"the directory registers no Microsoft Entra tenant for agency "
                f"{person.agency_id!r}, so a chat cannot be started in Teams"
            )
        template = (
            await self._storage.conversations.person_reference(template_person_id)
            if template_person_id
            else None
        )
        hinted = template.get("tenant") if template else None
        if template is not None and isinstance(hinted, str) and tenant_key(hinted) in tenants:
            return from_json(ConversationReference, template), hinted
        if len(tenants) > 1:
            return (
                f"agency {person.agency_id!r} registers {len(tenants)} tenants and the bot cannot "
                "tell which this person signs in from: they need to open the bot once"
            )
        seen = await self._storage.conversations.tenant_reference(tenants[0])
        if seen is None:
            return (
                "nobody from this person's tenant has talked to the bot yet, so no service URL "
                "is known there: they, or a colleague, need to open the bot once"
            )
        return from_json(ConversationReference, seen), tenants[0]

    async def _start_chat(
        self, person_id: str, card: dict[str, Any], template_person_id: str | None
    ) -> str | None:
        """Open a 1:1 chat with someone the bot has not heard from, by their Teams id, in their
        own tenant (`_chat_place`), and send the card; returns why not, or None once sent."""
        ids = await self._storage.directory.teams_ids(person_id)
        # Their Teams user id, else their Microsoft Entra object id: Teams takes either to start
        # a 1:1 chat, the object id only where the app is installed for them (a setup policy).
        teams_user_id = (ids[0] or ids[1]) if ids else None
        if not teams_user_id:
            # Teams lets a bot start a chat only with someone whose Teams id it knows.
            return "no conversation with this person yet, and no Teams id to start one"
        place = await self._chat_place(person_id, template_person_id)
        if isinstance(place, str):
            return place
        known, tenant = place
        parameters = ConversationParameters(
            is_group=False,
            bot=known.bot,
            members=[ChannelAccount(id=teams_user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        errors: list[Exception] = []

        async def opened(turn_context: TurnContext) -> None:
            try:
                saved = reference_json(turn_context.activity)
                if tenant:
                    saved["tenant"] = tenant
                await self._storage.conversations.save_person_reference(person_id, saved)
                await turn_context.send_activity(card_message(card))
            except Exception as exc:  # classified by the caller, never swallowed by the adapter
                errors.append(exc)

        await self._adapter.create_conversation(
            self._app_id, opened, parameters, "msteams", known.service_url
        )
        if errors:
            raise errors[0]
        return None

    async def _to_channel(self, notification: Notification, card: dict[str, Any]) -> Delivery:
        channel = await self._storage.conversations.channel(notification.recipient.id)
        if channel is None:
            return Delivery(
                DeliveryResult.RETRY,
                retry_after=timedelta(hours=1),
                error="no business-manager channel set for this board",
            )
        reference = from_json(ConversationReference, channel.reference)
        activity = card_message(card)
        parameters = ConversationParameters(
            is_group=True,
            channel_data=TeamsChannelData(channel=ChannelInfo(id=channel.channel_id)),
            activity=activity,
        )

        async def created(_: TurnContext) -> None:
            return None

        await self._pacer.wait(channel.channel_id)
        # The form that works without a turn (the scheduler has none) and without an app id.
        await self._adapter.create_conversation(
            self._app_id, created, parameters, "msteams", reference.service_url
        )
        return Delivery(DeliveryResult.SENT)
