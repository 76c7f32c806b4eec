"""bot.wire reads and writes Bot Framework models exactly as msrest does: the same objects from
the same JSON (odd JSON included), the same JSON from the same objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext, serializer_helper
from botbuilder.dialogs.choices import Choice, ChoiceFactory
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    InputHints,
    Mention,
    SuggestedActions,
)
from botframework.connector import models as connector_models
from msrest import Serializer
from msrest.serialization import Model

from bot.wire import from_json, to_json
from cards.welcome import welcome_card
from testkit.odd_activities import OddActivities, OpenCase, templates

SERVICE_URL = "http://127.0.0.1:9/"


def dump(value: Any) -> Any:
    """A model as plain data, class names included, for comparing two of them."""
    if isinstance(value, Model):
        return (type(value).__name__, {k: dump(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return (type(value).__name__, value)


def msrest_read(data: Any) -> Any:
    try:
        return dump(Activity().deserialize(copy.deepcopy(data)))
    except Exception as exc:  # msrest refuses it: so must the fast path
        return type(exc).__name__


def fast_read(data: Any) -> Any:
    try:
        return dump(from_json(Activity, copy.deepcopy(data)))
    except Exception as exc:
        return type(exc).__name__


def inbound() -> list[Any]:
    bodies: list[Any] = list(templates(SERVICE_URL, OpenCase()))
    odd = OddActivities(7, SERVICE_URL, OpenCase())
    bodies += [odd.mutated() for _ in range(200)]
    return bodies


@pytest.mark.parametrize("index", range(len(inbound())))
def test_an_activity_is_read_as_msrest_reads_it(index: int) -> None:
    body = inbound()[index]
    assert fast_read(body) == msrest_read(body)


def connector_body(model: Model, name: str = "Activity") -> dict[str, Any]:
    """What the connector client sends: msrest's request body for a model (an Activity)."""
    models = {k: v for k, v in connector_models.__dict__.items() if isinstance(v, type)}
    serializer = Serializer(models)  # type: ignore[no-untyped-call]  # msrest is untyped
    body: dict[str, Any] = serializer.body(copy.deepcopy(model), name)  # type: ignore[no-untyped-call]
    return body


def replies() -> list[Activity]:
    incoming = Activity().deserialize(templates(SERVICE_URL, OpenCase())[0])
    reference = TurnContext.get_conversation_reference(incoming)
    made = [
        MessageFactory.text("Case RB-2026-ABCDEF is open."),
        MessageFactory.text(
            "**help**\n\n- raise", speak="help", input_hint=InputHints.ignoring_input
        ),
        MessageFactory.attachment(CardFactory.adaptive_card(welcome_card(["RSAB"], []))),
        ChoiceFactory.for_channel(
            "msteams", [Choice("NELFT"), Choice("Barts Health")], "Which agency?"
        ),
        MessageFactory.suggested_actions(
            [CardAction(type="imBack", title="yes", value="yes")], "Raise it now?"
        ),
        Activity(
            type=ActivityTypes.message,
            text="<at>Noah</at> hi",
            entities=[Mention(mentioned=ChannelAccount(id="29:noah"), text="<at>Noah</at>")],
            suggested_actions=SuggestedActions(actions=[]),
            channel_data={"notification": {"alert": True}, "n": [1, 2.5, None, "x"]},
            value={"verb": "record", "data": {"nested": [True, {"k": None}]}},
        ),
    ]
    out = []
    for activity in made:
        out.append(TurnContext.apply_conversation_reference(copy.deepcopy(activity), reference))
        out.append(activity)
    return out


@pytest.mark.parametrize("index", range(len(replies())))
def test_a_reply_is_written_as_the_connector_client_writes_it(index: int) -> None:
    activity = replies()[index]
    assert to_json(activity) == connector_body(activity)


@pytest.mark.parametrize("index", range(len(inbound())))
def test_an_inbound_activity_round_trips_as_msrest_writes_it(index: int) -> None:
    try:
        activity = Activity().deserialize(copy.deepcopy(inbound()[index]))
    except Exception:
        pytest.skip("msrest refuses this one")
    assert to_json(activity) == connector_body(activity)
    reference = TurnContext.get_conversation_reference(activity)
    assert to_json(reference) == reference.serialize()


def test_conversation_references_and_parameters() -> None:
    reference = ConversationReference(
        activity_id="1",
        user=ChannelAccount(id="29:a", name="A", aad_object_id="aad-a"),
        bot=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:c", conversation_type="personal", tenant_id="t"),
        channel_id="msteams",
        locale="en-GB",
        service_url=SERVICE_URL,
    )
    assert to_json(reference) == reference.serialize()
    assert dump(from_json(ConversationReference, reference.serialize())) == dump(
        ConversationReference().deserialize(reference.serialize())
    )
    parameters = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="29:noah")],
        tenant_id="t",
        channel_data={"tenant": {"id": "t"}},
    )
    assert to_json(parameters) == connector_body(parameters, "ConversationParameters")


def test_an_invoke_response_is_written_as_botbuilder_writes_it() -> None:
    card = welcome_card(["RSAB"], [])
    body = AdaptiveCardInvokeResponse(
        status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
    )
    assert to_json(body, serializer_helper) == serializer_helper(body)
