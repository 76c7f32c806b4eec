"""The service layer: runs a command against a case, saves what it caused, and says who to tell."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from escalation.access import not_visible
from escalation.calendar import calendar_for
from escalation.case import Case, evolve, fold
from escalation.commands import CaseCommand, Command, RaiseDisagreement
from escalation.errors import ConcurrencyConflict, RefusalCode, Refused
from escalation.events import Event, append
from escalation.notifications import Notification, notifications_for
from escalation.packs import PackRegistry
from escalation.ports import CaseRepository, DirectorySource, Notifier, StoredCase
from escalation.retry import retry_on_conflict
from escalation.rules import Context, decide, decide_raise

_CASE_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def random_case_id(prefix: str, now: datetime) -> str:
    suffix = "".join(secrets.choice(_CASE_ID_ALPHABET) for _ in range(6))
    return f"{prefix}-{now:%Y}-{suffix}"


Alongside = Callable[["Case"], Awaitable[None]]
"""Work to do beside a change's save, given the case as the change leaves it (see execute)."""


@dataclass(frozen=True)
class Outcome:
    case: Case
    events: tuple[Event, ...]
    notifications: tuple[Notification, ...]


class EscalationService:
    def __init__(
        self,
        *,
        packs: PackRegistry,
        repository: CaseRepository,
        directory: DirectorySource,
        notifier: Notifier,
        now: Callable[[], datetime],
        new_case_id: Callable[[str, datetime], str] = random_case_id,
        attempts: int = 3,
    ) -> None:
        self._packs = packs
        self._repository = repository
        self._directory = directory
        self._notifier = notifier
        self._now = now
        self._new_case_id = new_case_id
        self._attempts = attempts

    async def execute(
        self,
        command: Command,
        *,
        known: StoredCase | None = None,
        alongside: Alongside | None = None,
        case_id: str | None = None,
    ) -> Outcome:
        """Decide the command and save what it causes.

        `known` is the case's history as the caller has just read it (`stored`), decided on
        without reading or folding it again (`StoredCase.case` folds once); a conflict with
        another change reads it afresh. `alongside`,
        given the case as the change leaves it, runs beside the save (its storage requests wait
        together with the save's); it should not raise, and must not assume the save succeeds.
        A refusal of a command on an existing case carries that case as `case` on the Refused.
        `case_id`, for a raise only, is the id to open the case as (`case_id_for`), in place of
        a new one: a raise tried again (a second "yes", or after a save that may or may not
        have happened) is then a ConcurrencyConflict if that case exists, never a second case.
        """
        if isinstance(command, RaiseDisagreement):
            return await self._raise(command, alongside, case_id)
        return await self._act(command, known, alongside)

    def case_id_for(self, board_id: str) -> str:
        """A new id for a case to be raised on the board, for a caller that keeps it before
        asking for the raise (`execute(case_id=...)`), so that the raise, however often it is
        tried, opens one case at most."""
        try:
            pack = self._packs.get(board_id)
        except KeyError as exc:
            raise Refused(RefusalCode.INVALID_INPUT, str(exc.args[0])) from None
        return self._new_case_id(pack.board.case_prefix, self._now())

    async def stored(self, case_id: str) -> StoredCase:
        """The case's history as stored (one read), for `case_of` and `execute(known=...)`.
        It says nothing of who may see it: ask `escalation.access` before showing any of it."""
        stored = await self._repository.load(case_id)
        if stored is None:
            raise not_visible(case_id)
        return stored

    async def case(self, case_id: str) -> Case:
        """The case as its events fold up. It says nothing of who may see it: ask
        `escalation.access` before showing any of it. A missing case is refused with the same
        words as one the person may not see."""
        return (await self.stored(case_id)).case

    async def _context(self, board_id: str) -> Context:
        try:
            pack = self._packs.get(board_id)
        except KeyError as exc:
            raise Refused(RefusalCode.INVALID_INPUT, str(exc.args[0])) from None
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("the service clock must give timezone-aware times")
        return Context(pack, calendar_for(pack), await self._directory.snapshot(), now)

    async def _raise(
        self, command: RaiseDisagreement, alongside: Alongside | None, case_id: str | None
    ) -> Outcome:
        ctx = await self._context(command.board_id)
        if case_id is None:
            case_id = self._new_case_id(ctx.pack.board.case_prefix, ctx.now)
        drafts = decide_raise(command, ctx, case_id)
        events = append(case_id, [], drafts, at=ctx.now, author=command.actor_id)
        case = fold(events)
        return await self._commit(case, events, ctx, expected_version=0, alongside=alongside)

    async def _act(
        self,
        command: CaseCommand,
        known: StoredCase | None,
        alongside: Alongside | None,
    ) -> Outcome:
        async def attempt(number: int) -> Outcome:
            stored = known if number == 1 else None
            if stored is None or (stored.events and stored.events[0].case_id != command.case_id):
                stored = await self.stored(command.case_id)
            before = stored.case
            ctx = await self._context(before.board_id)
            try:
                drafts = decide(before, command, ctx)
            except Refused as refusal:
                refusal.case = before
                raise
            events = append(before.id, stored.events, drafts, at=ctx.now, author=command.actor_id)
            after = evolve(before, events)
            return await self._commit(
                after,
                events,
                ctx,
                expected_version=stored.version,
                previous=before,
                alongside=alongside,
            )

        # Someone else changed the case first: decide again on what they left, which may now
        # refuse (a card that was already acted on, for instance).
        return await retry_on_conflict(
            attempt,
            attempts=self._attempts,
            conflicts=(ConcurrencyConflict,),
            gave_up=lambda: Refused(
                RefusalCode.CONFLICT,
                f"Case {command.case_id} is busy; nothing was changed. Try again.",
            ),
        )

    async def _commit(
        self,
        case: Case,
        events: list[Event],
        ctx: Context,
        *,
        expected_version: int,
        previous: Case | None = None,
        alongside: Alongside | None = None,
    ) -> Outcome:
        notifications = notifications_for(case, events, ctx.pack, ctx.directory)
        save = self._repository.save(
            case, events, notifications, expected_version=expected_version, previous=previous
        )
        if alongside is None:
            await save
        else:
            saved, beside = await asyncio.gather(save, alongside(case), return_exceptions=True)
            for failed in (saved, beside):
                if isinstance(failed, BaseException):
                    raise failed
        await self._notifier.notify(notifications)
        return Outcome(case, tuple(events), tuple(notifications))
