"""Requests to join an agency in Teams: the approver's Approve and Decline buttons, and the cards
that tell the approvers and the person who asked (sent from the request's notices, which are
stored with the request before anyone is told it was sent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.sender import TeamsSender
from cards.elements import Json
from cards.join_card import (
    APPROVE_JOIN,
    JOIN_VERBS,
    REASON_INPUT,
    join_decided_card,
    join_refused_card,
    join_request_card,
    join_result_card,
)
from escalation.delivery import Delivery
from escalation.directory import Directory, Person
from escalation.errors import Refused
from escalation.joining import BY_THE_BOARD, BoardAgencies, JoinRequest
from storage.join_requests import Notice, NoticeKind
from storage.stores import Storage

log = logging.getLogger("escalation.joins")


def _verb_and_data(value: object) -> tuple[str | None, Mapping[str, Any]]:
    """An `adaptiveCard/action` invoke's value, or an Action.Submit's."""
    if not isinstance(value, Mapping):
        return None, {}
    action = value.get("action")
    if isinstance(action, Mapping):
        verb, data = action.get("verb"), action.get("data")
    else:
        verb, data = value.get("verb"), value
    return (verb if isinstance(verb, str) else None), (data if isinstance(data, Mapping) else {})


def is_join_action(value: object) -> bool:
    return _verb_and_data(value)[0] in JOIN_VERBS


class JoinActions:
    """Approve or decline a request from its card: only the line manager it names or an
    agency administrator of that agency may (escalation.joining), and only as an active person
    of the directory signed in from a tenant their agency lists."""

    def __init__(self, storage: Storage, boards: BoardAgencies) -> None:
        self._storage = storage
        self._boards = boards

    async def act(self, value: object, person: Person | None, problem: str) -> Json:
        verb, data = _verb_and_data(value)
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id.strip():
            return join_refused_card("This card does not name a request.")
        if person is None:
            return join_refused_card(problem)
        requests = self._storage.requests
        try:
            if verb == APPROVE_JOIN:
                decided = await requests.approve(request_id, by=person.id, boards=self._boards)
            else:
                reason = data.get(REASON_INPUT)
                decided = await requests.decline(
                    request_id,
                    by=person.id,
                    reason=reason if isinstance(reason, str) else None,
                    boards=self._boards,
                )
        except Refused as refusal:
            log.info("join request action refused: %s", refusal.code)
            return join_refused_card(refusal.reason)
        return join_decided_card(decided.request, agency_name=decided.agency_name)


def _same_name(directory: Directory, request: JoinRequest) -> list[str]:
    """Others at the agency listed under the requester's name: an approver should know."""
    wanted = request.name.casefold().split()
    return [
        f"{p.name} ({p.email})" if p.email else p.name
        for p in sorted(directory.people.values(), key=lambda p: p.id)
        if p.id != request.person_id
        and p.active
        and p.agency_id == request.agency_id
        and p.name.casefold().split() == wanted
    ]


class JoinNoticeSender:
    """Builds and sends one notice (`storage.join_requests.deliver_notices` calls it)."""

    def __init__(self, sender: TeamsSender, storage: Storage, boards: BoardAgencies) -> None:
        self._sender = sender
        self._storage = storage
        self._boards = boards

    async def __call__(self, notice: Notice, request: JoinRequest) -> Delivery:
        directory = await self._storage.directory.snapshot()
        card = self.card(notice, request, directory)
        # The person who asked has talked to the bot: a chat with an approver who has not is
        # started on their service URL and tenant.
        return await self._sender.to_person(
            notice.recipient_id, card, template_person_id=request.person_id
        )

    def card(self, notice: Notice, request: JoinRequest, directory: Directory) -> Json:
        agency_name = self._boards.name(request.agency_id)
        if notice.kind == NoticeKind.RESULT:
            decider = directory.person(request.decided_by)
            return join_result_card(
                request,
                agency_name=agency_name,
                decided_by=decider.name if decider is not None else BY_THE_BOARD,
            )
        manager = directory.person(request.line_manager_id)
        return join_request_card(
            request,
            agency_name=agency_name,
            manager_name=manager.name if manager is not None else None,
            previous_agency_name=(
                self._boards.name(request.previous_agency_id)
                if request.previous_agency_id
                else None
            ),
            same_name=_same_name(directory, request),
        )
