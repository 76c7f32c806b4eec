"""The checks the core makes on a raise's answers, and the dialog asking with the same ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from dialogs.answers import AnswerError, parse_day, reference_answer, text_answer
from escalation.commands import RaiseDisagreement
from escalation.errors import RefusalCode, Refused
from escalation.rules.text import MAX_REFERENCE, MAX_TEXT, check_reference, check_text
from escalation.service import EscalationService
from testkit.builders import harrow_raise, redbridge_raise
from testkit.fakes import InMemoryCaseRepository

NAMES = ["Jane Smith", "Margaret Anne Smith", "Smith", "J. Smith", "Mrs O'Neill-Jones"]
REFERENCES = ["ASC-104233", "LBH-55120", "A1", "104233", "NHS 943 476 5919"]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_not_a_case_reference(name: str) -> None:
    with pytest.raises(Refused) as info:
        check_reference(name)
    assert info.value.code == RefusalCode.INVALID_INPUT
    assert "ASC-104233" in info.value.reason and "not the adult's name" in info.value.reason


@pytest.mark.parametrize("reference", REFERENCES)
def test_an_agency_reference_with_a_digit_is_accepted(reference: str) -> None:
    assert check_reference(f"  {reference} ") == reference


def test_a_reference_is_still_limited_in_length_and_characters() -> None:
    with pytest.raises(Refused, match="too long"):
        check_reference("A1" * MAX_REFERENCE)
    with pytest.raises(Refused, match="control characters"):
        check_reference("ASC-1\x07")


@pytest.mark.parametrize("build", [redbridge_raise, harrow_raise])
async def test_the_core_refuses_a_raise_that_names_the_adult(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    build: Callable[..., RaiseDisagreement],
) -> None:
    with pytest.raises(Refused) as info:
        await service.execute(build(adult_reference="Jane Smith"))
    assert info.value.code == RefusalCode.INVALID_INPUT
    assert "ASC-104233" in info.value.reason
    assert repository.events == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("aim", "A joint visit\x0bwithin a week"),
        ("issue", "x" * (MAX_TEXT + 1)),
        ("risk_to_adult", "Falls\x00"),
        ("evidence", "GP letter\x1b[31m"),
    ],
)
async def test_the_dialog_refuses_what_the_core_refuses_with_the_same_reason(
    service: EscalationService, field: str, value: str
) -> None:
    with pytest.raises(Refused) as core:
        await service.execute(redbridge_raise(**{field: value}))
    with pytest.raises(AnswerError) as dialog:
        text_answer(value, name=field, required=True)
    assert str(dialog.value) == core.value.reason


def test_the_dialog_reads_a_reference_by_the_core_rule() -> None:
    with pytest.raises(AnswerError) as dialog:
        reference_answer("Jane Smith")
    with pytest.raises(Refused) as core:
        check_reference("Jane Smith")
    assert str(dialog.value) == core.value.reason
    assert reference_answer(" ASC-104233 ") == "ASC-104233"


def test_text_answers_skip_and_strip_as_before() -> None:
    assert text_answer(" skip ", name="evidence", required=False) == ""
    assert text_answer("  GP letter ", name="evidence", required=False) == "GP letter"
    assert check_text("evidence", "  GP letter ", required=False) == "GP letter"
    with pytest.raises(AnswerError, match="Aim is needed"):
        text_answer("   ", name="aim", required=True)
    with pytest.raises(AnswerError, match="Type evidence, or 'skip'"):
        text_answer("", name="evidence", required=False)


def test_a_day_in_the_future_is_asked_again() -> None:
    with pytest.raises(AnswerError, match="in the future"):
        parse_day("2026-12-02", date(2026, 12, 1))


def test_every_control_character_but_tab_and_line_breaks_is_refused() -> None:
    allowed = {"\t", "\n", "\r"}
    for code in range(0x3000):  # every control character, and well past them
        ch = chr(code)
        text = f"Spoke{ch}again"
        if code < 0x20 and ch not in allowed:
            with pytest.raises(Refused, match="control characters"):
                check_text("summary", text, required=True)
        else:
            assert check_text("summary", text, required=True) == text
