"""The raise dialog's words about who is told, and what it reads as a command or a skip."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dialogs.answers import AnswerError, text_answer
from dialogs.base import is_command
from dialogs.told import being_told, immediate_risk_notice, names, preview_case, who_they_are
from escalation.directory import Directory, StaticDirectory
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack, Selector
from escalation.service import EscalationService, Outcome
from testkit.builders import redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier
from testkit.people import make_directory

TODAY = date(2026, 12, 1)
LEAD = "designated safeguarding adult professional"


def without_lead() -> Directory:
    """The test directory with nobody as adult social care's safeguarding lead."""
    return Directory.of(p for p in make_directory().people.values() if p.id != "sgl-asc")


async def raised(packs: list[PolicyPack], directory: Directory) -> Outcome:
    service = EscalationService(
        packs=PackRegistry(packs),
        repository=InMemoryCaseRepository(),
        directory=StaticDirectory(directory),
        notifier=RecordingNotifier(),
        now=FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
    )
    return await service.execute(redbridge_raise(immediate_risk=True))


def test_names_read_as_a_list() -> None:
    assert names([]) == ""
    assert names(["A"]) == "A"
    assert names(["A", "B"]) == "A and B"
    assert names(["A", "B", "C"]) == "A, B and C"


@pytest.mark.parametrize(
    "typed", ["cases", "My cases.", "PROFILE", "summary", "raise", "case RB-2026-K7QX2M", "new"]
)
def test_the_bots_commands_are_recognised(typed: str) -> None:
    assert is_command(typed)


@pytest.mark.parametrize(
    "typed", ["Further falls", "case conference minutes", "the cases of two adults", "raised"]
)
def test_an_answer_that_mentions_a_command_is_an_answer(typed: str) -> None:
    assert not is_command(typed)


@pytest.mark.parametrize("placeholder", ["skip", "none", "n/a", "-", " Skip "])
def test_a_required_answer_cannot_be_skipped(placeholder: str) -> None:
    with pytest.raises(AnswerError, match="Risk to adult is needed: this question cannot be"):
        text_answer(placeholder, name="risk_to_adult", required=True)
    assert text_answer(placeholder, name="evidence", required=False) == ""


def test_before_the_raise_it_says_who_will_be_told(
    redbridge: PolicyPack, directory: Directory
) -> None:
    answers = {"person_id": "amara", "agency_id": "nelft", "other_id": "noah"}
    case = preview_case(redbridge, directory, answers, TODAY)
    said = immediate_risk_notice(case, redbridge, directory)
    assert said.startswith(
        f"When you raise this, Lena (your line manager) and Sgl Asc (your agency's {LEAD}) will "
        "be told at once."
    )
    assert "been told" not in said


def test_someone_nobody_holds_is_named_for_the_raiser(redbridge: PolicyPack) -> None:
    directory = without_lead()
    answers = {"person_id": "amara", "agency_id": "nelft", "outside_name": "Dr Who, GP"}
    case = preview_case(redbridge, directory, answers, TODAY)
    said = immediate_risk_notice(case, redbridge, directory)
    assert "When you raise this, Lena (your line manager) will be told at once." in said
    assert f"I have nobody in my directory as your agency's {LEAD}" in said


def test_each_side_is_described_from_the_raisers_view(
    harrow: PolicyPack, directory: Directory
) -> None:
    answers = {"person_id": "hana", "agency_id": "cnwl", "other_id": "colin"}
    case = preview_case(harrow, directory, answers, TODAY)
    found, missing = who_they_are(
        [
            Selector(who="line_manager"),
            Selector(who="receiver"),
            Selector(who="agency_role", roles=["safeguarding_lead"], side="receiver"),
        ],
        case,
        harrow,
        directory,
    )
    assert found["harry"] == "Harry (your line manager)"
    assert found["cara"] == "Cara (the other professional's line manager)"
    assert found["colin"] == "Colin (the other professional)"
    assert found["csl"].startswith("Csl (designated safeguarding adults lead at ")
    assert missing == []


async def test_after_the_raise_it_names_who_the_saved_messages_go_to(
    redbridge: PolicyPack, harrow: PolicyPack, directory: Directory
) -> None:
    outcome = await raised([redbridge, harrow], directory)
    said = being_told(outcome.notifications, outcome.case, redbridge, directory)
    assert said == (
        f"I am telling Lena (your line manager), Sgl Asc (your agency's {LEAD}) and Noah (the "
        "other professional) now, and sending you the case card here."
    )


async def test_after_the_raise_it_names_whom_the_raiser_must_contact(
    redbridge: PolicyPack, harrow: PolicyPack
) -> None:
    directory = without_lead()
    outcome = await raised([redbridge, harrow], directory)
    said = being_told(outcome.notifications, outcome.case, redbridge, directory)
    assert said.startswith(
        "I am telling Lena (your line manager) and Noah (the other professional) now, and "
        "sending you the case card here. I cannot reach "
    )
    assert said.endswith(": contact them yourself and record it on the case.")
