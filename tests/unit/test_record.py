"""The case record exported for the adult's file: built from real cases run through the service."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest

from escalation.access_log import AccessEntry, Seen
from escalation.case import Case, fold
from escalation.case_export import case_record_markdown
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CaseConferenceDetails,
    CloseCase,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RecordAgencyResponse,
    RecordPanelDecision,
    RecordRecommendations,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.events import Event, EventDraft, append
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import at_stage_2, harrow_before_the_panel

GENERATED = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Exported:
    case: Case
    events: list[Event]
    text: str


async def export(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    pack: PolicyPack,
    directory: Directory,
    case_id: str,
    *,
    generated_at: datetime = GENERATED,
) -> Exported:
    case = await service.case(case_id)
    events = list(repository.events[case_id])
    text = case_record_markdown(case, events, pack, directory, generated_at=generated_at)
    return Exported(case, events, text)


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next `## ` heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_row(text: str, *needles: str) -> str:
    [row] = [
        line
        for line in text.splitlines()
        if line.startswith("|") and all(n in line for n in needles)
    ]
    return row


def cells(row: str) -> list[str]:
    """A table row's cells, splitting only on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def tables(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    previous_was_row = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous_was_row:
            found.append([])
        if is_row:
            found[-1].append(line)
        previous_was_row = is_row
    return found


def assert_tables_well_formed(text: str) -> None:
    for table in tables(text):
        widths = {len(cells(row)) for row in table}
        assert len(widths) == 1, f"a table's rows have {sorted(widths)} cells:\n" + "\n".join(table)
        assert re.fullmatch(r"\|(---\|)+", table[1])


# -- Redbridge: raise, discussion, escalate, protective deadline, resolution, closure ----------------


async def redbridge_resolved_at_stage_2(service: EscalationService, clock: FakeClock) -> str:
    case_id = (await service.execute(redbridge_raise(adult_initials="JS"))).case.id  # Tue 1 Dec
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(
        discussion(
            "noah",
            case_id,
            clock.now,
            "not_resolved",
            summary="Nursing declined the joint visit; the raiser asked again.",
        )
    )
    clock.set("2026-12-02T12:30:00+00:00")
    await service.execute(ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(
        Escalate(actor_id="amara", case_id=case_id, reason="No agreement at stage 1")
    )
    clock.set("2026-12-02T15:00:00+00:00")
    await service.execute(
        SetProtectiveDeadline(
            actor_id="lena",
            case_id=case_id,
            clock_id="resolve",
            due=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
            reason="Discharge from hospital on Friday",
        )
    )
    await service.execute(
        AskSafeguardingLead(
            actor_id="lena", case_id=case_id, question="Is a joint visit proportionate?"
        )
    )
    clock.set("2026-12-07T10:00:00+00:00")  # Monday: after the protective deadline
    await service.execute(
        discussion(
            "nadia",
            case_id,
            clock.now,
            "resolved",
            participants=("lena", "nadia"),
            summary="Managers agreed a joint visit.",
            agreed_outcome="Joint visit on Tuesday 8 December.",
            outstanding_issues="Care review on 14 December, chaired by adult social care.",
        )
    )
    clock.set("2026-12-07T11:00:00+00:00")
    await service.execute(ApproveRecord(actor_id="lena", case_id=case_id, record_id="R2"))
    clock.set("2026-12-07T15:00:00+00:00")
    await service.execute(
        ConfirmOutcome(
            actor_id="nadia",
            case_id=case_id,
            outcome="Joint visit on 8 December; care review to follow.",
            outstanding_issues="Care review on 14 December",
        )
    )
    clock.set("2026-12-07T16:00:00+00:00")
    await service.execute(ApproveOutcome(actor_id="lena", case_id=case_id))
    clock.set("2026-12-08T10:00:00+00:00")
    await service.execute(
        CloseCase(
            actor_id="lena",
            case_id=case_id,
            summary="Resolved by the line managers at stage 2.",
            learning_points=("Share falls logs early",),
            policy_gaps=("Discharge protocol silent on falls",),
            debrief_offered=True,
        )
    )
    return case_id


@pytest.mark.clause("RB-2.1", "RB-1.4")
async def test_the_record_names_the_case_and_never_the_adult(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    assert out.text.startswith(f"# Case record {case_id}: Redbridge Safeguarding Adults Board\n")
    details = section(out.text, "The case")
    rows = [cells(row) for row in tables(details)[0][2:]]
    # The adult's safety leads: immediate risk is the first detail.
    assert rows[0] == ["Adult at immediate risk of significant harm", "no"]
    facts = dict((row[0], row[1]) for row in rows)
    assert facts["Adult's case reference"] == "ASC-104233 (initials JS)"
    assert facts["Category"] == (
        "An agency's response to safeguarding concerns or a safeguarding plan"
    )
    assert facts["Track"] == "Professional disagreement"
    assert facts["Status"] == "closed"
    assert facts["Current stage"] == "stage 2 (Line manager to line manager)"
    assert facts["Stages reached"] == "1 → 2"
    assert facts["Raised by"] == (
        "Amara, London Borough of Redbridge Adult Social Care, on Tue 01 Dec 2026 10:00 GMT"
    )
    assert facts["Other professional"] == "Noah, NELFT NHS Foundation Trust"
    assert facts["Date of the disagreement"] == "Mon 30 Nov 2026"
    disagreement = section(out.text, "The disagreement")
    assert (
        "**The issue.** Community nursing declined a joint visit after two falls." in disagreement
    )
    assert "**Evidence.** GP letter of 27 November; falls log." in disagreement


@pytest.mark.clause("RB-4.1", "RB-1.4")
async def test_immediate_risk_is_shown_first_and_only_given_details_are_listed(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    opened = await service.execute(
        redbridge_raise(immediate_risk=True, nature_of_disagreement="", aim="", evidence="")
    )
    out = await export(service, repository, redbridge, directory, opened.case.id)
    first = cells(tables(section(out.text, "The case"))[0][2])
    assert first == ["Adult at immediate risk of significant harm", "YES"]
    disagreement = section(out.text, "The disagreement")
    assert "**Risk to the adult.**" in disagreement
    assert "Nature of the disagreement" not in disagreement
    assert "**Evidence.**" not in disagreement


@pytest.mark.clause("RB-4.3", "RB-2.1")
async def test_every_discussion_is_exported_in_full_with_dated_approvals(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    discussions = section(out.text, "Discussions")
    first, second = (dict(cells(row) for row in table[2:]) for table in tables(discussions))
    assert "### Discussion R1: stage 1 (Practitioner to practitioner)" in discussions
    assert first["Summary"] == "Nursing declined the joint visit; the raiser asked again."
    assert first["Held"] == "Wed 02 Dec 2026 11:00 GMT"
    assert first["Recorded"] == "Noah on Wed 02 Dec 2026 11:00 GMT"
    assert first["Participants"] == "Amara, Noah"
    assert first["Points of difference"] == "Timing of the joint visit."
    assert first["Outcome"] == "not resolved"
    assert first["Agreed outcome"] == "not recorded"
    assert first["Basis of the decision"] == "Risk of further falls."
    assert first["Approved"] == "approved by Amara on Wed 02 Dec 2026 12:30 GMT"
    assert "### Discussion R2: stage 2 (Line manager to line manager)" in discussions
    assert second["Summary"] == "Managers agreed a joint visit."
    assert second["Participants"] == "Lena, Nadia"
    assert second["Agreed outcome"] == "Joint visit on Tuesday 8 December."
    assert second["How outstanding issues will be pursued"] == (
        "Care review on 14 December, chaired by adult social care."
    )
    assert second["Approved"] == "approved by Lena on Mon 07 Dec 2026 11:00 GMT"


@pytest.mark.clause("RB-4.3")
async def test_a_record_awaiting_approval_says_so(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    await service.execute(discussion("noah", case_id, clock.now, "continuing"))
    out = await export(service, repository, redbridge, directory, case_id)
    assert table_row(section(out.text, "Discussions"), "Approved") == (
        "| Approved | not yet approved |"
    )


@pytest.mark.clause("RB-4.4", "RB-4.5", "RB-2.1")
async def test_deadlines_show_met_missed_ended_and_the_protective_deadline(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    deadlines = section(out.text, "Deadlines")
    header = cells(tables(deadlines)[0][0])
    column = {name: i for i, name in enumerate(header)}

    def row(label: str) -> list[str]:
        return cells(table_row(deadlines, f"| {label} |"))

    raise_clock = row("Raise the matter with the other professional")
    assert raise_clock[column["Status"]] == "met"
    assert raise_clock[column["Due by policy"]] == (
        "Wed 02 Dec 2026 17:00 GMT (within 2 working days)"
    )
    assert raise_clock[column["Clauses"]] == "RB-4.4"
    assert row("Find a mutually agreeable way forward")[column["Status"]] == "ended"
    # Stage 2's resolution was approved on Monday, after the protective deadline of Friday noon.
    resolve = row("Line managers resolve the disagreement")
    assert resolve[column["Stage"]] == "2"
    assert resolve[column["Due by policy"]] == "Wed 09 Dec 2026 17:00 GMT (within 5 working days)"
    assert resolve[column["Protective deadline"]] == (
        "Fri 04 Dec 2026 12:00 GMT: Discharge from hospital on Friday"
    )
    assert resolve[column["Effective due"]] == "Fri 04 Dec 2026 12:00 GMT"
    assert resolve[column["Status"]] == "missed"
    assert resolve[column["Stopped"]] == "Mon 07 Dec 2026 16:00 GMT"
    assert resolve[column["Clauses"]] == "RB-4.5, RB-flow"
    confirm = row("Receiving line manager confirms the outcome in writing")
    assert confirm[column["Status"]] == "met"
    assert confirm[column["Protective deadline"]] == "none"


async def test_a_running_clock_is_overdue_only_once_its_deadline_has_passed(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id  # respond due Fri 4 Dec 17:00
    label = "Receiving professional reviews the file and speaks to the raiser"
    before = await export(
        service,
        repository,
        redbridge,
        directory,
        case_id,
        generated_at=datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
    )
    assert "| running |" in table_row(section(before.text, "Deadlines"), label)
    after = await export(
        service,
        repository,
        redbridge,
        directory,
        case_id,
        generated_at=datetime(2026, 12, 4, 17, 1, tzinfo=UTC),
    )
    assert "| running, OVERDUE |" in table_row(section(after.text, "Deadlines"), label)


@pytest.mark.clause("RB-2.1")
async def test_the_chronology_lists_every_event_in_order_in_plain_english(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    [table] = tables(section(out.text, "Chronology"))
    rows = [cells(row) for row in table[2:]]
    assert [int(r[0]) for r in rows] == [e.seq for e in out.events]
    assert not [r for r in rows if "not described" in r[3]]
    said = [(r[1], r[2], r[3]) for r in rows]
    assert said[0] == (
        "Tue 01 Dec 2026 10:00 GMT",
        "Amara",
        "Disagreement raised with Noah, NELFT NHS Foundation Trust. Adult at immediate risk: no.",
    )
    assert (
        "Tue 01 Dec 2026 10:00 GMT",
        "Amara",
        "Case opened at stage 1 (Practitioner to practitioner).",
    ) in said
    texts = [r[3] for r in rows]
    expected = [
        "Escalated to stage 2 (Line manager to line manager). Reason: No agreement at stage 1.",
        "Protective deadline set: Line managers resolve the disagreement (stage 2) now due "
        "Fri 04 Dec 2026 12:00 GMT. Reason: Discharge from hospital on Friday.",
        "Advice asked of Sgl Asc, Sgl Nelft at stage 2 (Line manager to line manager): "
        "Is a joint visit proportionate?",
        "Discussion R2 recorded at stage 2 (Line manager to line manager): held "
        "Mon 07 Dec 2026 10:00 GMT (meeting); outcome: resolved.",
        "Discussion record R2 approved.",
        "Outcome confirmed in writing at stage 2 (Line manager to line manager): "
        "Joint visit on 8 December; care review to follow.",
        "Outcome approved at stage 2 (Line manager to line manager); the case is resolved.",
        "Clock missed: Line managers resolve the disagreement (stage 2).",
        "Case closed (debrief offered: yes): Resolved by the line managers at stage 2.",
    ]
    positions = [texts.index(text) for text in expected]
    assert positions == sorted(positions)
    assert any(t.startswith("Clock started: Raise the matter") for t in texts)


async def test_the_chronology_names_authors_and_keeps_system_as_system(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    history = list(repository.events[case_id])
    later = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    history += append(
        case_id,
        history,
        [EventDraft("SignpostShown", {"signpost": "complaints"})],
        at=later,
        author="system",
    )
    text = case_record_markdown(
        fold(history), history, redbridge, directory, generated_at=GENERATED
    )
    last = cells(tables(section(text, "Chronology"))[0][-1])
    assert last == [
        str(len(history)),
        "Tue 01 Dec 2026 11:00 GMT",
        "system",
        "Signpost shown: Complaints from the adult or family.",
    ]
    # Someone who has left the directory is still named, by their id.
    text = case_record_markdown(
        fold(history), history, redbridge, Directory(), generated_at=GENERATED
    )
    assert cells(tables(section(text, "Chronology"))[0][2])[2] == "amara"


async def test_an_event_this_version_does_not_know_is_still_listed(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    history = list(repository.events[case_id])
    case = fold(history)
    history += append(
        case_id, history, [EventDraft("SomethingNew", {})], at=GENERATED, author="amara"
    )
    text = case_record_markdown(case, history, redbridge, directory, generated_at=GENERATED)
    last = cells(tables(section(text, "Chronology"))[0][-1])
    assert last[3] == "SomethingNew (not described by this version of the record)"
    assert "the hash chain verifies" in text


@pytest.mark.clause("RB-2.1", "RB-4.4")
async def test_the_outcome_and_closure_are_exported(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    outcomes = section(out.text, "Outcomes")
    assert (
        "- At stage 2 (Line manager to line manager): "
        "Joint visit on 8 December; care review to follow.\n"
        "  - Confirmed in writing by Nadia on Mon 07 Dec 2026 15:00 GMT.\n"
        "  - Outstanding issues: Care review on 14 December\n"
        "  - Approved by Lena on Mon 07 Dec 2026 16:00 GMT."
    ) in outcomes
    assert "Closed by Lena on Tue 08 Dec 2026 10:00 GMT." in outcomes
    assert "**Summary.** Resolved by the line managers at stage 2." in outcomes
    assert "**Learning points.**\n\n- Share falls logs early\n" in outcomes
    assert "**Gaps in the policy.**\n\n- Discharge protocol silent on falls\n" in outcomes
    assert "**Debrief offered:** yes." in outcomes
    assert "Recommendations" not in outcomes and "Resolution panel" not in outcomes


async def test_an_open_case_has_no_outcome_yet(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    out = await export(service, repository, redbridge, directory, case_id)
    assert "No outcome has been recorded yet." in section(out.text, "Outcomes")
    assert "No discussions have been recorded." in section(out.text, "Discussions")


@pytest.mark.clause("RB-4.3", "RB-4.4")
async def test_an_other_professional_not_on_teams_is_named_as_such(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    external = OtherParty(agency_id="met-police", name="DC Priya Shah", email="p.shah@example.org")
    case_id = (await service.execute(redbridge_raise(other_party=external))).case.id
    out = await export(service, repository, redbridge, directory, case_id)
    assert table_row(section(out.text, "The case"), "Other professional") == (
        "| Other professional | DC Priya Shah, Metropolitan Police Service (not on Teams) |"
    )
    assert "p.shah@example.org" not in out.text


# -- Redbridge stage 4: the Chair's recommendations ---------------------------------------------


async def redbridge_recommendations(service: EscalationService, clock: FakeClock) -> str:
    case_id = await at_stage_2(service, clock)
    await service.execute(
        Escalate(actor_id="nadia", case_id=case_id, reason="Protocols conflict", policy_issue=True)
    )
    clock.set("2026-12-04T10:00:00+00:00")
    await service.execute(
        RecordRecommendations(
            actor_id="rb-chair",
            case_id=case_id,
            recommendations=("Joint visit within 3 days", "Review the discharge protocol"),
        )
    )
    clock.set("2026-12-07T09:00:00+00:00")
    await service.execute(
        RecordAgencyResponse(
            actor_id="nadia",
            case_id=case_id,
            agency_id="nelft",
            response="partly_accepted",
            detail="Visit agreed; protocol review next quarter",
        )
    )
    return case_id


@pytest.mark.clause("RB-4.9", "RB-4.7", "RB-2.1")
async def test_the_chairs_recommendations_are_exported_as_not_binding_with_each_response(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_recommendations(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    outcomes = section(out.text, "Outcomes")
    assert "### Recommendations (not binding)" in outcomes
    assert (
        "Made by Rb Chair on Fri 04 Dec 2026 10:00 GMT. These are recommendations, not binding: "
        "each agency responds to them."
    ) in outcomes
    assert "1. Joint visit within 3 days\n2. Review the discharge protocol\n" in outcomes
    assert cells(table_row(outcomes, "NELFT")) == [
        "NELFT NHS Foundation Trust",
        "partly accepted",
        "Visit agreed; protocol review next quarter",
        "Nadia on Mon 07 Dec 2026 09:00 GMT",
    ]
    assert cells(table_row(outcomes, "Adult Social Care")) == [
        "London Borough of Redbridge Adult Social Care",
        "no response recorded yet",
        "—",
        "—",
    ]
    assert "binding on all" not in outcomes
    stages = table_row(section(out.text, "The case"), "Stages reached")
    assert stages == "| Stages reached | 1 → 2 → 4 |"
    chronology = section(out.text, "Chronology")
    assert (
        "Escalated to stage 4 (RSAB Independent Chair). A significant policy issue. "
        "Reason: Protocols conflict. The Board Business Manager is copied."
    ) in chronology
    assert "Recommendations recorded (not binding): (1) Joint visit within 3 days" in chronology


# -- Harrow: the resolution panel ---------------------------------------------------------------


async def harrow_panel_decided(service: EscalationService, clock: FakeClock) -> str:
    case_id = await harrow_before_the_panel(service, clock)
    clock.set("2026-12-10T14:30:00+00:00")
    await service.execute(
        RecordPanelDecision(
            actor_id="hssp", case_id=case_id, decision="A section 42 enquiry opens this week."
        )
    )
    return case_id


@pytest.mark.clause("HW-4.4", "HW-0")
async def test_the_panel_decision_is_exported_as_binding_with_its_agencies(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await harrow_panel_decided(service, clock)
    out = await export(service, repository, harrow, directory, case_id)
    assert out.text.startswith(f"# Case record {case_id}: Harrow Safeguarding Adults Board")
    outcomes = section(out.text, "Outcomes")
    assert (
        "Convened by Hssp on Thu 03 Dec 2026 10:00 GMT, with agencies not concerned in the "
        "disagreement: Metropolitan Police Service; London Fire Brigade; Probation Service."
    ) in outcomes
    assert (
        "- Central and North West London NHS Foundation Trust (CNWL), by Colin on "
        "Thu 03 Dec 2026 10:00 GMT: Threshold not met"
    ) in outcomes
    assert (
        "- London Borough of Harrow (LBH) Adult Services, by Hana on Thu 03 Dec 2026 10:00 GMT: "
        "Fire risk is high"
    ) in outcomes
    assert (
        "**Decision (binding on all agencies concerned):** A section 42 enquiry opens this week. "
        "Recorded by Hssp on Thu 10 Dec 2026 14:30 GMT."
    ) in outcomes
    assert "not binding" not in outcomes
    deadlines = section(out.text, "Deadlines")
    review = cells(table_row(deadlines, "| 4 |", "Review the progress of the panel"))
    assert review[1] == "Review the progress of the panel (local default, not policy)"
    assert review[6] == "met"
    assert review[8] == "HW-0"
    chronology = section(out.text, "Chronology")
    assert (
        "| Hana | Escalated to stage 2 (Manager to manager). Reason: Not resolved. "
        "Aim: An enquiry. Evidence: Fire report. Source of the evidence: LFB visit 20 Nov. |"
    ) in chronology
    assert "Panel decision (binding on all agencies concerned): A section 42" in chronology


@pytest.mark.clause("HW-5")
async def test_a_case_conference_origin_is_in_the_header(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    conference = CaseConferenceDetails(
        meeting="Safeguarding adults case conference",
        meeting_date=date(2026, 11, 30),
        dissent_minuted=True,
    )
    case_id = (await service.execute(harrow_raise(case_conference=conference))).case.id
    out = await export(service, repository, harrow, directory, case_id)
    assert cells(table_row(section(out.text, "The case"), "case conference")) == [
        "Arose at a case conference or planning meeting (HW-5)",
        "Safeguarding adults case conference on 2026-11-30; dissent minuted: yes; raised with "
        "the meeting's Chair: no; the meeting's decision stands meanwhile: yes",
    ]
    plain = await service.execute(harrow_raise())
    other = await export(service, repository, harrow, directory, plain.case.id)
    assert "case conference" not in section(other.text, "The case")


# -- integrity ----------------------------------------------------------------------------------


@pytest.mark.clause("RB-2.1")
async def test_the_integrity_line_says_the_chain_verifies_and_gives_the_last_hash(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    out = await export(service, repository, redbridge, directory, case_id)
    integrity = section(out.text, "Integrity")
    assert (
        f"{len(out.events)} events; the hash chain verifies from the first event to the last. "
        f"The last event's hash is `{out.events[-1].hash}`."
    ) in integrity
    assert "NOT" not in integrity


@pytest.mark.clause("RB-2.1")
async def test_a_tampered_history_is_reported_as_not_verifying(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    events = list(repository.events[case_id])
    index = next(i for i, e in enumerate(events) if e.type == "DiscussionRecorded")
    events[index] = replace(
        events[index], data={**events[index].data, "summary": "Nursing agreed at once."}
    )
    case = fold(events)
    text = case_record_markdown(case, events, redbridge, directory, generated_at=GENERATED)
    integrity = section(text, "Integrity")
    assert "the hash chain does NOT verify" in integrity
    assert f"- Event {events[index].seq}: content changed after it was written" in integrity
    assert "the hash chain verifies" not in integrity


async def test_a_history_with_an_event_missing_does_not_verify(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = await redbridge_resolved_at_stage_2(service, clock)
    events = list(repository.events[case_id])
    case = fold(events)
    del events[3]
    text = case_record_markdown(case, events, redbridge, directory, generated_at=GENERATED)
    integrity = section(text, "Integrity")
    assert "does NOT verify" in integrity
    assert "- Event 5: out of order: expected event 4" in integrity
    assert f"The case above is at version {case.version}, not {events[-1].seq}." not in integrity
    short = events[:-1]
    text = case_record_markdown(case, short, redbridge, directory, generated_at=GENERATED)
    assert f"The case above is at version {case.version}, not {short[-1].seq}." in text


# -- escaping and the footer --------------------------------------------------------------------


@pytest.mark.clause("RB-4.3")
async def test_pipes_and_line_breaks_in_free_text_do_not_break_the_tables(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise(issue="Falls | pressure sores"))).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(
        discussion(
            "noah",
            case_id,
            clock.now,
            "not_resolved",
            summary="Visit | no visit\nSecond line <b>bold</b> *star*",
        )
    )
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="A | B"))
    await service.execute(
        SetProtectiveDeadline(
            actor_id="lena",
            case_id=case_id,
            clock_id="resolve",
            due=datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
            reason="Discharge | Friday",
        )
    )
    out = await export(service, repository, redbridge, directory, case_id)
    assert_tables_well_formed(out.text)
    summary = table_row(section(out.text, "Discussions"), "| Summary |")
    assert cells(summary)[1] == (r"Visit \| no visit<br>Second line \<b\>bold\</b\> \*star\*")
    resolve = table_row(section(out.text, "Deadlines"), "Line managers resolve")
    assert r"Thu 03 Dec 2026 12:00 GMT: Discharge \| Friday" in cells(resolve)
    assert r"Reason: A \| B." in section(out.text, "Chronology")
    assert r"**The issue.** Falls \| pressure sores" in out.text


async def test_every_table_in_a_full_record_is_well_formed(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    redbridge_id = await redbridge_resolved_at_stage_2(service, clock)
    first = await export(service, repository, redbridge, directory, redbridge_id)
    clock.set("2026-12-01T10:00:00+00:00")
    harrow_id = await harrow_panel_decided(service, clock)
    second = await export(service, repository, harrow, directory, harrow_id)
    for text in (first.text, second.text):
        assert len(tables(text)) >= 5
        assert_tables_well_formed(text)


async def test_the_footer_gives_the_local_time_and_the_data_warning(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    summer = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    out = await export(service, repository, redbridge, directory, case_id, generated_at=summer)
    footer = out.text[out.text.rindex("\n---\n") :]
    assert "Generated Tue 01 Jun 2027 10:00 BST." in footer
    assert "All times are UK local time (Europe/London)." in footer
    assert "special category data" in footer
    assert "adult's file" in footer and "records policy" in footer
    with pytest.raises(ValueError, match="timezone-aware"):
        case_record_markdown(
            out.case, out.events, redbridge, directory, generated_at=datetime(2027, 6, 1, 9, 0)
        )


@pytest.mark.clause("RB-2.1")
async def test_the_record_lists_who_has_seen_the_case_in_uk_local_time(
    service: EscalationService,
    repository: InMemoryCaseRepository,
    redbridge: PolicyPack,
    directory: Directory,
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    case = await service.case(case_id)
    events = list(repository.events[case_id])
    seen = [
        AccessEntry(case_id, "cli:admin", Seen.EXPORT, datetime(2026, 12, 3, 16, 0, tzinfo=UTC)),
        AccessEntry(case_id, "noah", Seen.CARD, datetime(2026, 12, 1, 10, 5, tzinfo=UTC), "full"),
        AccessEntry(case_id, "rb-bm", Seen.CASE, datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "copy"),
    ]
    text = case_record_markdown(
        case, events, redbridge, directory, generated_at=GENERATED, access=seen
    )
    part = section(text, "Who has seen this case")
    rows = [
        cells(line) for line in part.splitlines() if line.startswith("| ") and "When" not in line
    ]
    assert rows == [
        ["Tue 01 Dec 2026 10:05 GMT", "Noah", "card", "full view"],
        ["Wed 02 Dec 2026 09:00 GMT", "Rb Bm", "case", "copy view"],
        ["Thu 03 Dec 2026 16:00 GMT", "cli:admin", "export", "—"],
    ]
    assert_tables_well_formed(text)
    # Before the integrity line, which stays the record's last section.
    assert text.index("## Who has seen this case") < text.index("## Integrity")
    # An empty log says so; a record built without one has no such section.
    empty = case_record_markdown(
        case, events, redbridge, directory, generated_at=GENERATED, access=()
    )
    assert "No view of this case has been recorded." in section(empty, "Who has seen this case")
    bare = case_record_markdown(case, events, redbridge, directory, generated_at=GENERATED)
    assert "Who has seen" not in bare
