"""Bad answers in the raise dialog, over HTTP as Teams sends them: each is asked again at once
with the reason, the earlier answers are kept, and the raise then succeeds."""

from __future__ import annotations

import pytest

from escalation.case import Case
from escalation.commands import RaiseDisagreement
from escalation.errors import RefusalCode, Refused
from escalation.events import EventDraft
from escalation.rules import Context, decide_raise
from testkit.chat import (
    ANSWERS,
    Chat,
    answer,
    opened_case,
    says,
)
from tests.e2e.choices import last_choice_set

QUESTION = {answer: ANSWERS[i - 1][1] for i, (answer, _) in enumerate(ANSWERS) if i}
# The question each typed answer replies to, and the core's name for it in its reasons.
FIELDS = {
    "ASC-104233": "Adult's case reference",
    "Community nursing declined a joint visit": "Issue",
    "Further falls; lives alone": "Risk to adult",
    "Whether a joint visit is needed": "Nature of disagreement",
    "A joint visit within a week": "Aim",
    "GP letter of 27 November": "Evidence",
}


async def to_summary(chat: Chat, replace: dict[str, str] | None = None) -> None:
    for text, expect in ANSWERS:
        await answer(chat, (replace or {}).get(text, text), expect)


def details(case: Case) -> dict[str, str]:
    return {"adult_reference": case.adult_reference, **case.details}


EXPECTED = {
    "adult_reference": "ASC-104233",
    "issue": "Community nursing declined a joint visit",
    "risk_to_adult": "Further falls; lives alone",
    "nature_of_disagreement": "Whether a joint visit is needed",
    "aim": "A joint visit within a week",
    "evidence": "GP letter of 27 November",
}


@pytest.mark.clause("RB-4.2")
@pytest.mark.parametrize("good", list(FIELDS))
async def test_a_control_character_is_asked_again_at_once_then_the_raise_succeeds(
    chat: Chat, good: str
) -> None:
    bad = good[:5] + "\x0b" + good[5:]  # a vertical tab, as pasted from a document
    position = next(i for i, (text, _) in enumerate(ANSWERS) if text == good)
    for text, expect in ANSWERS[:position]:
        await answer(chat, text, expect)
    replies = await chat.say("amara", bad)
    assert says(replies, f"{FIELDS[good]} contains control characters."), replies
    assert says(replies, QUESTION[good]), replies  # the same question again, at once
    assert not says(replies, ANSWERS[position][1]), replies
    for text, expect in ANSWERS[position:]:
        await answer(chat, text, expect)
    case = await opened_case(chat)
    assert details(case) == EXPECTED  # every earlier answer kept, the bad one replaced


@pytest.mark.clause("RB-4.2")
async def test_a_name_as_the_case_reference_is_asked_again(chat: Chat) -> None:
    for text, expect in ANSWERS[:3]:
        await answer(chat, text, expect)
    for name in ("Jane Smith", "Margaret Anne Smith"):
        replies = await chat.say("amara", name)
        assert says(replies, "ASC-104233") and says(replies, "not the adult's name"), replies
        assert says(replies, "case reference at your agency"), replies
        assert not says(replies, "What is it about"), replies
    for text, expect in ANSWERS[3:]:
        await answer(chat, text, expect)
    case = await opened_case(chat)
    assert case.adult_reference == "ASC-104233" and "Smith" not in str(details(case))


@pytest.mark.parametrize("hedged", ["not sure yet", "yes but not now"])
async def test_a_yes_beside_a_negation_at_the_summary_saves_nothing_and_asks_again(
    chat: Chat, hedged: str
) -> None:
    await to_summary(chat)
    replies = await answer(chat, hedged, "Please answer yes or no. Raise this disagreement now?")
    assert not says(replies, " is open."), replies
    case = await opened_case(chat)  # the plain "yes" that follows opens the case
    assert case.version and details(case) == EXPECTED


async def test_no_at_the_summary_changes_one_answer_and_keeps_the_rest(chat: Chat) -> None:
    await to_summary(chat)
    await answer(chat, "no", "Which answer do you want to change")
    offered = [title for title, _ in last_choice_set(chat.connector, "a:chat-amara").choices]
    assert "Your aim" in offered and "Cancel" in offered, offered
    assert len(offered) > 6  # every answer, whole: a hero card in Teams would show only six
    await answer(chat, "Your aim", "What do you aim to achieve?")
    await answer(chat, "A\x07", "Aim contains control characters.")  # checked here too
    replies = await answer(chat, "A joint visit by Friday", "Raise this disagreement now")
    summary = "\n".join(replies)
    assert "A joint visit by Friday" in summary and "Further falls; lives alone" in summary
    case = await opened_case(chat)
    assert details(case) == {**EXPECTED, "aim": "A joint visit by Friday"}


async def test_a_refusal_at_the_end_keeps_every_answer(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal the dialog could not foresee (here: the directory changed under it) loses
    nothing: the person is told why, and confirms again once it is put right."""
    calls: list[int] = []

    def refuse_once(command: RaiseDisagreement, ctx: Context, case_id: str) -> list[EventDraft]:
        calls.append(1)
        if len(calls) == 1:
            raise Refused(RefusalCode.INVALID_INPUT, "Noah Okafor works for another agency now.")
        return decide_raise(command, ctx, case_id)

    monkeypatch.setattr("escalation.service.decide_raise", refuse_once)
    await to_summary(chat)
    replies = await chat.say("amara", "yes")
    assert says(replies, "not saved yet: Noah Okafor works for another agency now."), replies
    assert says(replies, "Your answers are kept") and not says(replies, "Nothing was saved")
    assert says(replies, "Which answer do you want to change"), replies
    await answer(chat, "No change: show the summary again", "Raise this disagreement now")
    case = await opened_case(chat)
    assert details(case) == EXPECTED and len(calls) == 2


async def test_cancel_after_a_refusal_saves_nothing(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise Refused(RefusalCode.NOT_PERMITTED, "Your agency has left the board.")

    monkeypatch.setattr("escalation.service.decide_raise", refuse)
    await to_summary(chat)
    await answer(chat, "yes", "Your agency has left the board.")
    assert await chat.say("amara", "cancel") == ["Cancelled. Nothing was saved."]
    assert await chat.say("amara", "cases") == ["You have no open cases."]
