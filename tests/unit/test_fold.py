"""escalation.case.fold builds each step's case without dataclasses.replace: for every event of
every scenario case, the case it gives is the one replace gives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from escalation.case import Case, _advanced, _case_raised, _changes, evolve, fold
from escalation.events import Event
from escalation.service import EscalationService
from testkit.builders import redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import build_harrow, build_redbridge


def fold_by_replace(events: Sequence[Event]) -> Case:
    case = replace(_case_raised(events[0]), version=events[0].seq, updated_at=events[0].at)
    for event in events[1:]:
        case = replace(case, **_changes(case, event), version=event.seq, updated_at=event.at)
    return case


async def test_every_step_of_every_scenario_case_is_the_case_replace_gives(
    service: EscalationService, clock: FakeClock, repository: InMemoryCaseRepository
) -> None:
    await build_redbridge(service, clock)
    await build_harrow(service, clock)
    assert len(repository.events) == 6
    steps = 0
    for events in repository.events.values():
        for end in range(1, len(events) + 1):
            folded = fold(events[:end])
            assert folded == fold_by_replace(events[:end])
            assert vars(folded) == vars(fold_by_replace(events[:end]))
            steps += 1
        assert (
            evolve(fold(events[:1]), events[1:])
            == fold(events)
            == repository.states[events[0].case_id]
        )
    assert steps > 60


async def test_a_change_to_a_field_case_does_not_have_is_refused(
    service: EscalationService, repository: InMemoryCaseRepository
) -> None:
    await service.execute(redbridge_raise())
    (events,) = repository.events.values()
    with pytest.raises(TypeError, match="stagee"):
        _advanced(fold(events), {"stagee": "2"}, events[-1])
