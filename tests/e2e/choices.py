"""Reading the choice cards the bot sends, and answering them as Teams does: an Action.Submit
is a message with no text whose value is the action's data merged with the card's inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cards.checks import inputs
from testkit.chat import Chat, said
from testkit.connector import Connector


@dataclass(frozen=True)
class ChoiceSet:
    card: dict[str, Any]
    input: dict[str, Any]

    @property
    def input_id(self) -> str:
        return str(self.input["id"])

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(title, value) of each static choice, as shown."""
        return [(c["title"], c["value"]) for c in self.input.get("choices") or []]

    def value_of(self, title_part: str) -> str:
        [value] = [v for t, v in self.choices if title_part in t]
        return value

    def data(self, verb: str) -> dict[str, Any]:
        [action] = [a for a in self.card.get("actions") or [] if a["data"]["verb"] == verb]
        return dict(action["data"])


def last_choice_set(connector: Connector, conversation: str) -> ChoiceSet:
    """The choice set of the last card the bot sent to the conversation."""
    for sent in reversed(connector.sent):
        if sent.conversation_id != conversation:
            continue
        for attachment in sent.body.get("attachments") or []:
            found = inputs(attachment.get("content") or {})
            if found and found[0]["type"] == "Input.ChoiceSet":
                return ChoiceSet(attachment["content"], found[0])
    raise AssertionError(f"no choice card was sent to {conversation}")


async def submit(chat: Chat, who: str, value: dict[str, Any]) -> list[str]:
    """Click a card's Action.Submit: a message with the value and no text."""
    before = len(chat.connector.sent)
    async with chat.http.post(
        chat.url + "/api/messages", json=chat.activity(who, value=value)
    ) as r:
        assert r.status == 201, await r.text()
    return [said(s.body) for s in chat.connector.sent[before:]]


async def choose(chat: Chat, who: str, value: str, *, verb: str = "answer") -> list[str]:
    """Pick `value` on the last choice card sent to `who`, and press its button."""
    picked = last_choice_set(chat.connector, f"a:chat-{who}")
    return await submit(chat, who, {**picked.data(verb), picked.input_id: value})


async def search(
    chat: Chat,
    who: str,
    dataset: str,
    query: str,
    *,
    skip: int = 0,
    top: int = 15,
) -> tuple[int, Any]:
    """Teams' typeahead asking the bot (an `application/search` invoke)."""
    body = chat.activity(
        who,
        type="invoke",
        name="application/search",
        value={
            "queryText": query,
            "dataset": dataset,
            "queryOptions": {"skip": skip, "top": top},
        },
    )
    async with chat.http.post(chat.url + "/api/messages", json=body) as r:
        return r.status, await r.json() if r.content_type == "application/json" else None
