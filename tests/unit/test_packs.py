"""The shipped policy packs encode their policies, and a broken pack fails with file, field, problem.

The expected values below were read from the policies (POLICY-CLAUSES.md and the policy text
summarised there), not from the packs: a test fails if a pack drifts from its policy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalation.packs import PackError, PackRegistry, load_pack, parse_pack
from escalation.policy import PolicyPack, RunsFrom, Stage, StageOutcome, Until
from tests.unit.broken_packs import (
    BROKEN,
    BROKEN_FIXTURES,
    BROKEN_PARAMS,
    FIXTURE_PARAMS,
    FIXTURES,
    THORNBURY,
    Broken,
    BrokenFixture,
    dump,
    expected_line,
    write_broken,
)

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
# The customer's clause table, kept with the packs that cite it.
CLAUSES_MD = Path(__file__).resolve().parents[2] / "policies" / "POLICY-CLAUSES.md"

# Clause prefixes of POLICY-CLAUSES.md and the pack that encodes them.
BOARD_OF_PREFIX = {"RB": "redbridge", "HW": "harrow"}
SAME_WD = "same WD"


def clocks_of(stage: Stage) -> dict[str, tuple[int | str, list[str]]]:
    """Each clock of a stage: its effective length (working days or same WD) and its clauses."""
    table: dict[str, tuple[int | str, list[str]]] = {}
    for clock in stage.clocks:
        effective = clock.effective
        length: int | str = (
            SAME_WD if effective.same_working_day else int(effective.working_days or 0)
        )
        table[clock.id] = (length, clock.clauses)
    return table


def selectors(items: list[Any]) -> list[tuple[str, str, list[str], list[str]]]:
    return [(s.who, s.side.value, list(s.roles), list(s.sectors)) for s in items]


# -- both packs load; stage paths --------------------------------------------------------------


def test_shipped_packs_load_from_the_policy_folder() -> None:
    registry = PackRegistry.from_directory(POLICIES)
    assert registry.board_ids() == [
        "cumbria",
        "harrow",
        "lincolnshire",
        "redbridge",
        "south-ayrshire",
    ]
    assert len(registry) == 5
    assert registry.get("redbridge").board.case_prefix == "RB"
    assert registry.get("harrow").board.case_prefix == "HW"


@pytest.mark.clause("RB-2.1", "RB-4.4", "RB-4.5", "RB-4.6", "RB-4.7")
def test_redbridge_main_track_runs_stages_1_to_4(redbridge: PolicyPack) -> None:
    assert [t.id for t in redbridge.tracks] == ["main"]
    assert redbridge.default_track == "main"
    assert [s.id for s in redbridge.stage_path("main")] == ["1", "2", "3", "4"]
    assert redbridge.stage("4").escalates_to is None


@pytest.mark.clause("HW-0", "HW-thr")
def test_harrow_tracks_main_and_threshold_join_stage_3(harrow: PolicyPack) -> None:
    assert [t.id for t in harrow.tracks] == ["main", "threshold"]
    assert harrow.default_track == "main"
    assert [s.id for s in harrow.stage_path("main")] == ["1", "2", "3", "4"]
    assert [s.id for s in harrow.stage_path("threshold")] == ["T1", "T2", "T3", "3", "4"]
    assert [harrow.stage(s).track for s in ("T1", "T2", "T3")] == ["threshold"] * 3


def test_unknown_stage_and_track_lookups_raise_key_error(redbridge: PolicyPack) -> None:
    with pytest.raises(KeyError, match="redbridge has no stage '5'"):
        redbridge.stage("5")
    with pytest.raises(KeyError, match="redbridge has no track 'threshold'"):
        redbridge.track("threshold")


# -- Redbridge clocks --------------------------------------------------------------------------


@pytest.mark.clause("RB-4.4", "RB-flow")
def test_redbridge_stage_1_clocks(redbridge: PolicyPack) -> None:
    stage = redbridge.stage("1")
    assert clocks_of(stage) == {
        "raise": (2, ["RB-4.4"]),
        "respond": (3, ["RB-4.4"]),
        "resolve": (5, ["RB-flow"]),
        "confirm": (2, ["RB-4.4", "RB-flow"]),
    }
    raise_clock = stage.clock("raise")
    assert raise_clock is not None
    # "within 2 WD of the disagreement": counted from the date of the disagreement.
    assert (raise_clock.runs_from, raise_clock.until) == (
        RunsFrom.DISAGREEMENT_DATE,
        Until.CASE_RAISED,
    )
    respond = stage.clock("respond")
    assert respond is not None
    assert (respond.runs_from, respond.until) == (RunsFrom.STAGE_ENTERED, Until.DISCUSSION_RECORDED)
    # "faster if delay would fail to protect the adult"
    assert respond.protective is True
    confirm = stage.clock("confirm")
    assert confirm is not None
    # "outcome confirmed in writing within a further 2 WD" (after resolution)
    assert (confirm.runs_from, confirm.until) == (
        RunsFrom.RESOLUTION_REACHED,
        Until.OUTCOME_CONFIRMED,
    )
    assert [c.local_default for c in stage.clocks] == [False] * 4


@pytest.mark.clause("RB-4.5")
def test_redbridge_stage_2_line_managers_same_day_then_5_wd(redbridge: PolicyPack) -> None:
    stage = redbridge.stage("2")
    assert clocks_of(stage) == {
        "referral": (SAME_WD, ["RB-4.5"]),
        "resolve": (5, ["RB-4.5", "RB-flow"]),
        "confirm": (2, ["RB-4.5", "RB-flow"]),
    }
    referral = stage.clock("referral")
    assert referral is not None
    assert referral.runs_from == RunsFrom.ESCALATION_TRIGGERED
    resolve = stage.clock("resolve")
    assert resolve is not None and resolve.protective is True  # "or a shorter protective timescale"
    # Both line managers are told; they act; the safeguarding lead advises.
    assert selectors(stage.notify_on_entry) == [("line_manager", "both", [], [])]
    assert selectors(stage.actors) == [("line_manager", "both", [], [])]
    assert selectors(stage.advisers) == [("agency_role", "both", ["safeguarding_lead"], [])]
    assert stage.copy_business_manager is False


@pytest.mark.clause("RB-4.6", "RB-flow")
def test_redbridge_stage_3_resolve_takes_the_shorter_flowchart_timescale(
    redbridge: PolicyPack,
) -> None:
    stage = redbridge.stage("3")
    assert clocks_of(stage) == {
        "referral": (SAME_WD, ["RB-4.6"]),
        "resolve": (2, ["RB-4.6", "RB-flow"]),
        "confirm": (2, ["RB-4.6", "RB-flow"]),
    }
    resolve = stage.clock("resolve")
    assert resolve is not None
    # Both statements are kept, citing both clauses; the effective one is the flowchart's 2 WD.
    assert [(t.working_days, t.source, t.clauses) for t in resolve.timescales] == [
        (5, "text", ["RB-4.6"]),
        (2, "flowchart", ["RB-flow"]),
    ]
    assert resolve.effective.working_days == 2
    assert resolve.effective.source == "flowchart"
    # Senior managers, or in health the named safeguarding professional.
    assert selectors(stage.actors) == [
        ("agency_role", "both", ["senior_manager"], []),
        ("agency_role", "both", ["named_safeguarding_professional"], ["health"]),
    ]
    assert selectors(stage.advisers) == [("agency_role", "both", ["head_of_service"], [])]


@pytest.mark.clause("RB-4.7", "RB-4.9")
def test_redbridge_stage_4_chair_recommends_in_5_wd_not_binding(redbridge: PolicyPack) -> None:
    stage = redbridge.stage("4")
    assert clocks_of(stage) == {
        "referral": (SAME_WD, ["RB-4.9"]),
        "recommend": (5, ["RB-4.9", "RB-flow"]),
    }
    assert stage.outcome == StageOutcome.RECOMMENDATIONS
    assert stage.recommendations is not None
    assert stage.recommendations.binding is False
    assert selectors(stage.recommendations.by) == [
        ("board_role", "both", ["independent_chair"], [])
    ]
    assert selectors(stage.notify_on_entry) == [("board_role", "both", ["independent_chair"], [])]
    # "significant policy issues" go straight to the Chair.
    assert redbridge.policy_issue_stage == "4"
    assert redbridge.policy_issue_clauses == ["RB-4.7"]


@pytest.mark.clause("RB-4.6", "RB-4.7")
def test_redbridge_business_manager_is_copied_at_stages_3_and_4_only(
    redbridge: PolicyPack,
) -> None:
    copied = {s.id: (s.copy_business_manager, s.copy_clauses) for s in redbridge.stages}
    assert copied == {
        "1": (False, []),
        "2": (False, []),
        "3": (True, ["RB-4.6"]),
        "4": (True, ["RB-4.7", "RB-4.9"]),
    }


# -- Harrow clocks -----------------------------------------------------------------------------


@pytest.mark.clause("HW-thr")
def test_harrow_threshold_review_is_1_wd_policy_not_local_default(harrow: PolicyPack) -> None:
    review = harrow.stage("T2").clock("review")
    assert review is not None
    assert review.effective.working_days == 1
    assert review.local_default is False
    assert review.clauses == ["HW-thr"]
    assert [t.source for t in review.timescales] == ["text"]
    assert harrow.stage("T3").escalates_to == "3"
    assert clocks_of(harrow.stage("T3")) == {
        "referral": (SAME_WD, ["HW-thr"]),
        "review": (5, ["HW-0"]),
    }


@pytest.mark.clause("HW-0")
def test_harrow_stage_review_clocks_are_local_defaults(harrow: PolicyPack) -> None:
    reviews = {}
    for stage_id in ("1", "2", "3", "4", "T1"):
        clock = harrow.stage(stage_id).clock("review")
        assert clock is not None
        reviews[stage_id] = (
            clock.effective.working_days,
            clock.local_default,
            [t.source for t in clock.timescales],
        )
    assert reviews == {
        "1": (5, True, ["local"]),
        "2": (5, True, ["local"]),
        "3": (10, True, ["local"]),
        "4": (20, True, ["local"]),
        "T1": (2, True, ["local"]),
    }
    # Immediate harm: discretion over which stage to start at.
    assert harrow.immediate_risk.may_choose_start_stage is True


@pytest.mark.clause("HW-4.4")
def test_harrow_panel_needs_three_uninvolved_agencies_and_binds(harrow: PolicyPack) -> None:
    stage = harrow.stage("4")
    assert stage.outcome == StageOutcome.PANEL_DECISION
    panel = stage.panel
    assert panel is not None
    assert panel.min_agencies == 3
    assert panel.binding is True
    assert panel.clauses == ["HW-4.4"]
    assert selectors(panel.convened_by) == [("board_role", "both", ["hssp_chair"], [])]
    assert selectors(panel.overseen_by) == [("board_role", "both", ["independent_chair"], [])]
    assert (stage.copy_business_manager, stage.copy_clauses) == (True, ["HW-4.4"])


@pytest.mark.clause("HW-4.1", "HW-4.2", "HW-4.3")
def test_harrow_records_and_entry_requirements(harrow: PolicyPack) -> None:
    assert harrow.stage("1").record_requires == ["points_of_difference"]
    assert harrow.stage("2").record_requires == ["points_of_difference", "basis_of_decision"]
    assert harrow.stage("2").entry_requires == ["aim", "evidence", "evidence_source"]
    assert harrow.stage("3").record_requires == ["points_of_difference"]
    assert selectors(harrow.stage("3").notify_on_entry) == [
        ("agency_role", "both", ["board_member"], [])
    ]


# -- categories, signposts, special routes -----------------------------------------------------


@pytest.mark.clause("RB-3.1")
def test_redbridge_categories_match_the_policy_list(redbridge: PolicyPack) -> None:
    assert [(c.id, c.label) for c in redbridge.categories] == [
        ("eligibility", "Eligibility criteria and access to services"),
        (
            "response-to-concerns",
            "An agency's response to safeguarding concerns or a safeguarding plan",
        ),
        ("roles-responsibilities", "Roles and responsibilities"),
        ("communication", "Intra- or inter-agency communication"),
        ("case-management", "Practice or case management, including drift or case closure"),
        ("other", "Another significant issue"),
    ]
    assert all("RB-3.1" in c.clauses for c in redbridge.categories)


@pytest.mark.clause("HW-2")
def test_harrow_categories_match_the_policy_list(harrow: PolicyPack) -> None:
    assert [c.id for c in harrow.categories] == [
        "thresholds",
        "roles-responsibilities",
        "drift",
        "communication",
        "information-sharing",
        "no-further-involvement",
        "other",
    ]
    sharing = harrow.category("information-sharing")
    assert sharing is not None and sharing.label == "Refusal to share key information"
    assert all(c.clauses == ["HW-2"] for c in harrow.categories)


@pytest.mark.clause("RB-1.6")
def test_redbridge_child_concern_signposts_the_mash(redbridge: PolicyPack) -> None:
    assert redbridge.child_concern is not None
    assert redbridge.child_concern.signpost == "mash"
    assert redbridge.child_concern.clauses == ["RB-1.6"]
    mash = redbridge.signpost("mash")
    assert mash is not None
    assert mash.contacts == ["CPAT.Referrals@redbridge.gov.uk"]
    assert "Multi-Agency Safeguarding Hub (MASH)" in mash.text
    assert mash.clauses == ["RB-1.6"]


@pytest.mark.clause("HW-7")
def test_harrow_raise_concern_contacts(harrow: PolicyPack) -> None:
    signpost = harrow.signpost("raise-concern")
    assert signpost is not None
    assert len(signpost.contacts) == 2
    assert signpost.contacts[0].startswith("ahadultsservices@harrow.gov.uk")
    assert "020 8901 2680" in signpost.contacts[0]
    assert signpost.contacts[1].startswith("cnw-tr.mentalhealthsafeguardingharrow@nhs.net")
    assert "0800 023 4650" in signpost.contacts[1]
    assert signpost.clauses == ["HW-7"]


@pytest.mark.clause("RB-1.5")
def test_redbridge_complaints_and_own_manager_are_signposted(redbridge: PolicyPack) -> None:
    complaints = redbridge.signpost("complaints")
    assert complaints is not None
    assert complaints.text.startswith("This is not a complaints process.")
    assert complaints.clauses == ["RB-1.5"]
    assert redbridge.own_manager is not None
    assert redbridge.own_manager.blocks_case is True
    assert redbridge.own_manager.signpost == "whistleblowing"
    assert redbridge.own_manager.clauses == ["RB-1.5"]


@pytest.mark.clause("HW-0w")
def test_harrow_own_manager_blocks_and_signposts_whistleblowing(harrow: PolicyPack) -> None:
    rule = harrow.own_manager
    assert rule is not None
    assert (rule.blocks_case, rule.signpost, rule.clauses) == (True, "whistleblowing", ["HW-0w"])
    signpost = harrow.signpost("whistleblowing")
    assert signpost is not None
    assert "whistle-blowing process" in signpost.text


@pytest.mark.clause("HW-5")
def test_harrow_case_conference_rules(harrow: PolicyPack) -> None:
    rule = harrow.case_conference
    assert rule is not None
    assert rule.requires == ["meeting", "meeting_date", "dissent_minuted"]
    assert selectors(rule.notify) == [("agency_role", "raiser", ["safeguarding_lead"], [])]
    assert rule.decision_stands is True
    assert rule.clauses == ["HW-5"]
    # Redbridge has no case-conference route.
    assert load_pack(POLICIES / "redbridge.yaml").case_conference is None


@pytest.mark.clause("HW-learn")
def test_harrow_closure_records_learning_and_debrief(harrow: PolicyPack) -> None:
    closure = harrow.closure
    assert (closure.learning_points, closure.policy_gaps, closure.debrief_offered) == (
        True,
        True,
        True,
    )
    assert closure.learning_route is not None
    assert "HSAB representative" in closure.learning_route
    assert closure.copy_business_manager == "always"
    assert "HW-learn" in closure.clauses


@pytest.mark.clause("HW-3")
def test_harrow_resource_implications_and_immediate_risk(harrow: PolicyPack) -> None:
    assert harrow.resource_implications is not None
    assert selectors(harrow.resource_implications.adds_actors) == [
        ("agency_role", "both", ["resource_manager"], [])
    ]
    assert harrow.resource_implications.clauses == ["HW-3"]
    assert ("agency_role", "raiser", ["safeguarding_lead"], []) in selectors(
        harrow.immediate_risk.notify
    )
    assert "HW-3" in harrow.immediate_risk.clauses


@pytest.mark.clause("RB-4.1")
def test_redbridge_immediate_risk_notifies_manager_and_lead_same_day(
    redbridge: PolicyPack,
) -> None:
    rule = redbridge.immediate_risk
    assert selectors(rule.notify) == [
        ("line_manager", "raiser", [], []),
        ("agency_role", "raiser", ["safeguarding_lead"], []),
    ]
    assert rule.timescale.same_working_day is True
    assert rule.timescale.working_days is None
    assert rule.timescale.clauses == ["RB-4.1"]
    assert rule.may_choose_start_stage is False
    assert "RB-4.1" in rule.clauses
    # RB-1.4: nothing blocks the urgent path: fewer answers are needed.
    assert rule.requires == ["issue", "risk_to_adult"]


@pytest.mark.parametrize("board", ["redbridge", "harrow"])
def test_working_day_settings(board: str) -> None:
    pack = load_pack(POLICIES / f"{board}.yaml")
    cal = pack.calendar
    assert (cal.country, cal.subdivision, cal.timezone) == ("GB", "ENG", "Europe/London")
    assert cal.end_of_working_day.isoformat() == "17:00:00"


# -- clause coverage ---------------------------------------------------------------------------

CLAUSE_LIST_KEYS = {"clauses", "copy_clauses", "policy_issue_clauses", "raise_clauses"}


def cited_clauses(node: Any, key: str | None = None) -> set[str]:
    """Every clause id cited anywhere in a raw pack (lists of ids under a clause key)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= cited_clauses(v, k)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and key in CLAUSE_LIST_KEYS:
                found.add(item)
            else:
                found |= cited_clauses(item, key)
    return found


def raw_pack(board: str) -> dict[str, Any]:
    data = yaml.safe_load((POLICIES / f"{board}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_cited_clauses_walks_every_kind_of_clause_list() -> None:
    node = {
        "clauses": [{"id": "XX-1", "summary": "s"}],
        "a": {"clauses": ["XX-2"], "b": [{"copy_clauses": ["XX-3"]}]},
        "raise_clauses": ["XX-4"],
        "policy_issue_clauses": ["XX-5"],
        "roles": ["not-a-clause"],
    }
    assert cited_clauses(node) == {"XX-2", "XX-3", "XX-4", "XX-5"}


@pytest.mark.parametrize("board", ["redbridge", "harrow"])
def test_every_cited_clause_is_listed_and_every_listed_clause_is_cited(board: str) -> None:
    data = raw_pack(board)
    listed = {c["id"] for c in data["clauses"]}
    cited = cited_clauses(data)
    assert cited - listed == set()
    assert listed - cited == set()
    assert len(listed) == {"redbridge": 14, "harrow": 12}[board]


def policy_clause_ids() -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    pattern = re.compile(r"^\|\s*([A-Z]{2,4})-([A-Za-z0-9.]+)\s*\|", re.MULTILINE)
    for prefix, rest in pattern.findall(CLAUSES_MD.read_text(encoding="utf-8")):
        ids.setdefault(prefix, set()).add(f"{prefix}-{rest}")
    return ids


def test_policy_clause_table_parses_both_boards() -> None:
    ids = policy_clause_ids()
    assert set(ids) == set(BOARD_OF_PREFIX)
    assert len(ids["RB"]) == 14
    assert len(ids["HW"]) == 12
    assert {"RB-4.6", "RB-flow", "HW-thr", "HW-0w"} <= ids["RB"] | ids["HW"]


@pytest.mark.parametrize("prefix", sorted(BOARD_OF_PREFIX))
def test_every_policy_clause_is_in_its_pack(prefix: str) -> None:
    wanted = policy_clause_ids()[prefix]
    pack = load_pack(POLICIES / f"{BOARD_OF_PREFIX[prefix]}.yaml")
    assert wanted - pack.clause_ids() == set()
    # ...and the pack invents no clause ids of its own.
    assert pack.clause_ids() - wanted == set()


# -- broken packs ------------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["redbridge", "harrow"])
def test_an_unmutated_dump_still_loads(base: str, tmp_path: Path) -> None:
    """Control: the round trip through safe_load/safe_dump alone breaks nothing."""
    path = tmp_path / f"{base}.yaml"
    path.write_text(dump(raw_pack(base)), encoding="utf-8")
    assert load_pack(path) == load_pack(POLICIES / f"{base}.yaml")


@pytest.mark.parametrize("broken", BROKEN_PARAMS)
def test_broken_pack_names_file_field_and_problem(broken: Broken, tmp_path: Path) -> None:
    path = write_broken(broken, tmp_path)
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert error.path == str(path)
    lines = str(error).splitlines()
    start = expected_line(path, broken)
    matching = [line for line in lines if line.startswith(start) and broken.problem in line]
    assert matching, f"no line starts {start!r} and contains {broken.problem!r}: {lines}"
    if broken.field is not None and not broken.field.startswith("line "):
        assert broken.field in [field for field, _ in error.problems]


def test_missing_file_is_a_pack_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PackError) as caught:
        load_pack(path)
    assert str(caught.value) == f"{path}: no such file"
    assert caught.value.problems == [("", "no such file")]


def test_parse_pack_names_its_source() -> None:
    with pytest.raises(PackError) as caught:
        parse_pack("[1, 2]", source="inline.yaml")
    assert str(caught.value) == "inline.yaml: a pack must be a YAML mapping at the top level"


def test_escalation_to_unknown_stage_reports_the_unreachable_stages_too(tmp_path: Path) -> None:
    broken = next(b for b in BROKEN if b.id == "escalates-to-unknown-stage")
    with pytest.raises(PackError) as caught:
        load_pack(write_broken(broken, tmp_path))
    assert caught.value.problems == [
        ("stages.0 (stage '1').escalates_to", "no stage '9'"),
        ("stages.1 (stage '2')", "no track reaches this stage"),
        ("stages.2 (stage '3')", "no track reaches this stage"),
        ("stages.3 (stage '4')", "no track reaches this stage"),
    ]


@pytest.mark.clause("HW-4.4")
def test_panel_of_every_uninvolved_member_is_accepted(tmp_path: Path) -> None:
    """9 member agencies, 2 of them possibly involved: a panel of 7 is the most possible."""
    data = raw_pack("harrow")
    data["stages"][3]["panel"]["min_agencies"] = 7
    path = tmp_path / "harrow-7.yaml"
    path.write_text(dump(data), encoding="utf-8")
    panel = load_pack(path).stage("4").panel
    assert panel is not None and panel.min_agencies == 7


# -- the registry ------------------------------------------------------------------------------


def test_registry_rejects_two_packs_for_one_board(redbridge: PolicyPack) -> None:
    with pytest.raises(ValueError, match="two packs claim board 'redbridge'"):
        PackRegistry([redbridge, redbridge])


def test_registry_get_unknown_board_names_the_loaded_boards(
    redbridge: PolicyPack, harrow: PolicyPack
) -> None:
    registry = PackRegistry([redbridge, harrow])
    assert registry.get("harrow") is harrow
    with pytest.raises(KeyError) as caught:
        registry.get("camden")
    assert caught.value.args[0] == "no policy pack for board 'camden' (loaded: harrow, redbridge)"


def test_empty_registry_says_none_are_loaded() -> None:
    with pytest.raises(KeyError) as caught:
        PackRegistry([]).get("redbridge")
    assert caught.value.args[0] == "no policy pack for board 'redbridge' (loaded: none)"


def test_registry_from_a_folder_with_a_broken_pack_fails(tmp_path: Path) -> None:
    (tmp_path / "redbridge.yaml").write_text(dump(raw_pack("redbridge")), encoding="utf-8")
    broken = write_broken(next(b for b in BROKEN if b.id == "stage-loop"), tmp_path)
    with pytest.raises(PackError) as caught:
        PackRegistry.from_directory(tmp_path)
    assert caught.value.path == str(broken)


def _duplicate_key(_data: dict[str, Any], text: str) -> str:
    return text.replace("\n  short_name: RSAB\n", "\n  short_name: RSAB\n  short_name: RB\n", 1)


def test_a_key_given_twice_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(_duplicate_key({}, (POLICIES / "redbridge.yaml").read_text(encoding="utf-8")))
    with pytest.raises(PackError) as caught:
        load_pack(path)
    [(field, problem)] = caught.value.problems
    assert field.startswith("line ") and "'short_name' is given twice" in problem


def test_a_misspelt_sector_is_refused(tmp_path: Path) -> None:
    data = raw_pack("redbridge")
    data["stages"][2]["actors"][1]["sectors"] = ["heath"]
    path = tmp_path / "sector.yaml"
    path.write_text(dump(data), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack(path)
    assert any(field == "stages.2.actors.1.sectors.0" for field, _ in caught.value.problems)


# -- packs that used to pass the check and fail later (tests/fixtures/packs/broken) --------------


def test_every_broken_fixture_is_listed() -> None:
    assert sorted(p.stem for p in BROKEN_FIXTURES.glob("*.yaml")) == sorted(
        f.name for f in FIXTURES
    )


@pytest.mark.parametrize("fixture", FIXTURE_PARAMS)
def test_a_pack_that_would_fail_later_fails_to_load_with_its_one_fault(
    fixture: BrokenFixture,
) -> None:
    path = BROKEN_FIXTURES / f"{fixture.name}.yaml"
    with pytest.raises(PackError) as caught:
        load_pack(path)
    # Exactly the one fault each fixture was made with: the rest is the valid Thornbury pack.
    assert caught.value.problems == [(fixture.field, fixture.problem)]
    assert str(caught.value) == f"{path}: {fixture.field}: {fixture.problem}"


def test_the_pack_the_broken_fixtures_are_made_from_loads() -> None:
    """Control: the faults are the fixtures' own, not Thornbury's."""
    pack = load_pack(THORNBURY)
    assert pack.calendar.end_of_working_day.isoformat() == "16:30:00"


def _with_calendar(tmp_path: Path, **calendar: Any) -> Path:
    data = raw_pack("redbridge")
    data["calendar"].update(calendar)
    path = tmp_path / "calendar.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "written"),
    [(1020, "17:00"), (540, "09:00"), (61200, "17:00:00"), (0, "00:00")],
)
def test_a_time_yaml_read_as_a_number_is_refused_with_the_time_to_quote(
    tmp_path: Path, value: int, written: str
) -> None:
    with pytest.raises(PackError) as caught:
        load_pack(_with_calendar(tmp_path, end_of_working_day=value))
    [(field, problem)] = caught.value.problems
    assert field == "calendar.end_of_working_day"
    assert problem.startswith(f"is the number {value}: ")
    assert problem.endswith(f'quote the time: "{written}"')


@pytest.mark.parametrize("value", ["7:00", "17.00", "24:00", "17:60", "17:00:00", True, 17.5])
def test_only_a_quoted_hh_mm_is_a_time(tmp_path: Path, value: Any) -> None:
    with pytest.raises(PackError) as caught:
        load_pack(_with_calendar(tmp_path, end_of_working_day=value))
    [(field, problem)] = caught.value.problems
    assert field == "calendar.end_of_working_day"
    assert problem.startswith("must be a local time written")


@pytest.mark.parametrize(
    ("calendar", "ends"),
    [
        ({"end_of_working_day": "16:45"}, "16:45:00"),
        ({"subdivision": "WLS"}, "17:00:00"),
        ({"timezone": "Europe/Belfast", "subdivision": "NIR"}, "17:00:00"),
    ],
)
def test_a_valid_calendar_still_loads(tmp_path: Path, calendar: dict[str, str], ends: str) -> None:
    pack = load_pack(_with_calendar(tmp_path, **calendar))
    assert pack.calendar.end_of_working_day.isoformat() == ends


def test_two_packs_with_one_case_prefix_cannot_run_together(tmp_path: Path) -> None:
    (tmp_path / "redbridge.yaml").write_text(dump(raw_pack("redbridge")), encoding="utf-8")
    data = raw_pack("harrow")
    data["board"]["case_prefix"] = "RB"
    clash = tmp_path / "zz-harrow.yaml"
    clash.write_text(dump(data), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        PackRegistry.from_directory(tmp_path)
    assert str(caught.value) == (
        f"{clash}: board: boards 'redbridge' and 'harrow' both use case_prefix 'RB' "
        f"(the other is {tmp_path / 'redbridge.yaml'})"
    )


def test_two_files_for_one_board_name_both(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    second = tmp_path / "b.yaml"
    for path in (first, second):
        path.write_text(dump(raw_pack("redbridge")), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        PackRegistry.from_directory(tmp_path)
    assert caught.value.path == str(second)
    assert str(caught.value).endswith(f"two packs claim board 'redbridge' (the other is {first})")


def test_a_missing_or_empty_policy_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PackError) as missing:
        PackRegistry.from_directory(tmp_path / "nowhere")
    assert str(missing.value) == f"{tmp_path / 'nowhere'}: no such folder of policy packs"
    with pytest.raises(PackError) as empty:
        PackRegistry.from_directory(tmp_path)
    assert str(empty.value) == f"{tmp_path}: holds no policy packs (*.yaml)"
