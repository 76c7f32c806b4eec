"""Messages that carry a card: each with the plain-text summary Teams shows for it in the chat
list and in notifications (`Activity.summary`), where it would otherwise say "Sent a card"."""

from __future__ import annotations

from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity

from cards.elements import card_summary


def card_message(card: dict[str, Any], text: str | None = None) -> Activity:
    """A message with `card` (an Adaptive Card) and its summary; `text`, where given, is shown
    above the card."""
    activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card), text=text)
    activity.summary = card_summary(card)
    return activity
