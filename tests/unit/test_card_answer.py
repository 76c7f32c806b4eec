"""A card action's answer is written without walking the card as msrest would
(bot.json_body.JsonAnswer): the same JSON, byte for byte, as botbuilder's model gives."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, serializer_helper
from botbuilder.schema import AdaptiveCardInvokeResponse

from bot.http import BotTurns
from bot.json_body import json_bytes
from bot.teams_bot import CARD_TYPE, card_answer
from bot.wire import to_json
from cards.outcome_cards import done_card
from cards.picker_card import search_response
from cards.welcome import welcome_card
from escalation.directory import Directory
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.clocks import FakeClock
from testkit.scenarios import at_stage_2
from tests.unit.card_checks import view_of


def as_the_model_writes_it(kind: str, value: Any) -> bytes:
    model = AdaptiveCardInvokeResponse(status_code=200, type=kind, value=value)
    return json_bytes(to_json(model, serializer_helper))


class _Answering:
    """The adapter's part of BotTurns.run: the turn answers with `response`."""

    def __init__(self, response: InvokeResponse) -> None:
        self.response = response

    async def process_activity(self, *_: object) -> InvokeResponse:
        return self.response


class _Bot:
    async def on_turn(self, *_: object) -> None:
        raise AssertionError("the adapter stand-in runs no turn")


async def written(response: InvokeResponse) -> web.Response:
    """What the edge writes for the turn's invoke response."""
    turns = BotTurns(_Answering(response), _Bot)
    answer = await turns.run(None, None)
    assert isinstance(answer, web.Response)
    return answer


async def test_a_case_card_answer_is_the_json_of_botbuilders_model(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    card = done_card(view_of(case, redbridge, directory, "lena", clock.now), "Record R1 is saved.")
    answer = await written(card_answer(CARD_TYPE, card))
    assert answer.status == 200 and answer.content_type == "application/json"
    assert answer.body == as_the_model_writes_it(CARD_TYPE, card)
    assert b'"verb":"escalate"' in answer.body  # the card itself, whole


async def test_the_welcome_card_and_a_search_answer_are_written_as_the_model_writes_them() -> None:
    card = welcome_card(["RSAB"], [])
    assert (await written(card_answer(CARD_TYPE, card))).body == as_the_model_writes_it(
        CARD_TYPE, card
    )
    found = search_response([("29:lena", "Lena Ward (Redbridge Council)")])
    answer = await written(card_answer(found["type"], found["value"]))
    assert answer.body == as_the_model_writes_it(found["type"], found["value"])


async def test_a_model_answer_is_still_written_as_msrest_writes_it() -> None:
    model = AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value={"a": [1, "b"]})
    answer = await written(InvokeResponse(status=200, body=model))
    assert answer.body == json_bytes(serializer_helper(model))
