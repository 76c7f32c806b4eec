"""A board's escalation policy as data: the pydantic model of a policy pack.

A pack encodes one published policy: its stages and tracks, who acts at each stage, every clock,
who is notified and copied, the categories, signposts and local defaults. Each rule carries the
clause ids (POLICY-CLAUSES.md) it comes from, so a rule can be traced from the policy to the code.
Cross-references (roles, stages, clauses) are checked here so that a broken pack fails at load
time with the field that is wrong, never half-way through a case.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

ClauseId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}-[A-Za-z0-9.]+$")]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
StageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=20)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]


# The id of the reminder cadence a stage without a clock of its own runs (never a pack's clock
# id: those start with a letter or digit).
REMINDER_CLOCK = "_reminders"

# Cross-reference problems are reported together, each as "field.path: message".
PROBLEM_SEPARATOR = "\n"


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _sexagesimal(number: int) -> str:
    """How YAML 1.1 wrote an unquoted time it read as a number: 1020 was 17:00."""
    parts: list[int] = []
    while number or len(parts) < 2:
        number, part = divmod(number, 60)
        parts.append(part)
    return ":".join([str(parts[-1]), *(f"{p:02d}" for p in reversed(parts[:-1]))])


def _wall_time(value: Any) -> time:
    """A local wall-clock time given as the string "HH:MM".

    An unquoted 17:00 in YAML is the number 1020 (YAML 1.1 reads it in base 60), which pydantic
    would take as 00:17; a time with an offset would be wrong for half the year. Both are refused.
    """
    if isinstance(value, time) and value.tzinfo is None:
        return value  # built in code (the defaults), not read from a file
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            written = _sexagesimal(value)
            raise ValueError(
                f"is the number {value}: YAML reads an unquoted {written} as a number "
                f'(in base 60); quote the time: "{written.zfill(5)}"'
            )
        raise ValueError(f'must be a local time written "HH:MM" in quotes, not {value!r}')
    if not _HH_MM.match(value):
        raise ValueError(f'must be a local time written "HH:MM" (e.g. "17:00"), not {value!r}')
    return time(int(value[:2]), int(value[3:]))


WallTime = Annotated[time, BeforeValidator(_wall_time)]


class _Model(BaseModel):
    # Unknown keys are refused so that a misspelt field fails loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Board(_Model):
    id: Ident
    name: Text
    short_name: Text
    case_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,5}$")]


class Source(_Model):
    title: Text
    file: Text | None = None


class Clause(_Model):
    id: ClauseId
    summary: Text


# The four nations' bank-holiday calendars (the holidays package's subdivisions of GB).
UK_NATIONS = {"ENG": "England", "WLS": "Wales", "SCT": "Scotland", "NIR": "Northern Ireland"}


class LocalHoliday(_Model):
    date: date
    name: Text


class CalendarSettings(_Model):
    # Checked here against the holidays package and the time zone database, so that a pack
    # that loads can always count working days (never a failure at the first deadline).
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "GB"
    # ENG England, WLS Wales, SCT Scotland, NIR Northern Ireland.
    subdivision: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")] = "ENG"
    timezone: Text = "Europe/London"
    end_of_working_day: WallTime = time(17, 0)
    # How long "immediately" allows, in clock minutes (a board's reading of "at once"; the
    # product's default is an hour).
    immediately_within_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    # Days off the area keeps beyond the nation's bank holidays (a council's local holidays),
    # and days the package lists that the area's agencies work.
    local_holidays: list[LocalHoliday] = Field(default_factory=list)
    not_holidays: list[date] = Field(default_factory=list)

    @property
    def nation(self) -> str:
        """'Scotland', or the holiday calendar's code outside the UK's four."""
        if self.country == "GB":
            return UK_NATIONS.get(self.subdivision, self.subdivision)
        return f"{self.country}-{self.subdivision}"

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str) -> str:
        if country not in holidays.list_supported_countries():
            raise ValueError(
                f"the holidays package has no country {country!r} (an ISO 3166 code, e.g. GB)"
            )
        return country

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, subdivision: str, info: ValidationInfo) -> str:
        country = info.data.get("country")
        if country is None:
            return subdivision  # the country is wrong, and says so
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=())
        except NotImplementedError:
            known = ", ".join(holidays.list_supported_countries().get(country, [])) or "none"
            raise ValueError(
                f"{country} has no holiday subdivision {subdivision!r} (it has: {known})"
            ) from None
        return subdivision

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {timezone!r}: give an IANA name such as Europe/London"
            ) from None
        return timezone


class RoleScope(StrEnum):
    AGENCY = "agency"  # held within one agency (line manager, safeguarding lead...)
    BOARD = "board"  # held for the board as a whole (business manager, chair...)


class Role(_Model):
    id: Ident
    name: Text
    scope: RoleScope
    description: Text | None = None
    clauses: list[ClauseId] = Field(default_factory=list)


Sector = Literal[
    "council", "health", "police", "housing", "probation", "voluntary", "fire", "other"
]


class Agency(_Model):
    id: Ident
    name: Text
    sector: Sector
    board_member: bool = True


class Side(StrEnum):
    RAISER = "raiser"
    RECEIVER = "receiver"
    BOTH = "both"


class Selector(_Model):
    """Who, relative to a case: the parties, their line managers, or holders of a role."""

    who: Literal["raiser", "receiver", "line_manager", "agency_role", "board_role"]
    side: Side = Side.BOTH
    roles: list[Ident] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list)
    note: Text | None = None

    @model_validator(mode="after")
    def _roles_where_needed(self) -> Self:
        if self.who in ("agency_role", "board_role") and not self.roles:
            raise ValueError(f"a '{self.who}' selector needs at least one role")
        if self.who not in ("agency_role", "board_role") and self.roles:
            raise ValueError(f"a '{self.who}' selector takes no roles")
        if self.sectors and self.who != "agency_role":
            raise ValueError("sectors only narrow an 'agency_role' selector")
        return self


class RunsFrom(StrEnum):
    DISAGREEMENT_DATE = "disagreement_date"  # the date the disagreement arose or a decision came
    STAGE_ENTERED = "stage_entered"  # the case reached this stage (or `of_stage`, an earlier one)
    ESCALATION_TRIGGERED = "escalation_triggered"  # the previous stage could not resolve it
    RESOLUTION_REACHED = "resolution_reached"  # a discussion at this stage reached agreement
    DISCUSSION_FAILED = "discussion_failed"  # a discussion at this stage was recorded not resolved
    CLOCK_MISSED = "clock_missed"  # clock `after` fell due without what it waits for
    CLOCK_MET = "clock_met"  # what clock `after` waits for happened (on time or late)


# Clocks started by what happens to another clock at the same stage.
FOLLOWS = frozenset({RunsFrom.CLOCK_MISSED, RunsFrom.CLOCK_MET})


class Until(StrEnum):
    CASE_RAISED = "case_raised"
    DISCUSSION_RECORDED = "discussion_recorded"
    OUTCOME_CONFIRMED = "outcome_confirmed"
    STAGE_RESOLVED = "stage_resolved"
    STAGE_ENTERED = "stage_entered"
    MILESTONE = "milestone"  # the clock's `milestone`, recorded on the case card


class Milestone(_Model):
    """Something the policy asks for that is not a resolution ("an action plan within 2 WD",
    "the Chair made aware within 1 WD"): recorded with a button on the case card by one of the
    people it names, which meets its clock."""

    button: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    # Who may record it: these selectors; without them, the clock's owners, else the stage's
    # actors.
    recorded_by: list[Selector] = Field(default_factory=list)


class Timescale(_Model):
    """One statement of a timescale in the policy (text or flowchart).

    Exactly one kind: `working_days: N` ("within N working days"), `same_working_day: true`
    ("within the same working day"), `hours: N` ("within N hours": clock hours, counted straight
    through nights, weekends and bank holidays, as a policy's "48 hours" is usually meant) or
    `immediately: true` ("at once": due the pack's `calendar.immediately_within_minutes` after it
    starts, in clock time too). Where a policy glosses "48 hours" as "two working days", give the
    working days it means.
    """

    working_days: Annotated[int, Field(ge=1, le=60)] | None = None
    same_working_day: bool = False
    hours: Annotated[int, Field(ge=1, le=720)] | None = None
    immediately: bool = False
    clauses: list[ClauseId] = Field(min_length=1)
    says: Text | None = None
    source: Literal["text", "flowchart", "local"] = "text"

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [
            self.working_days is not None,
            self.same_working_day,
            self.hours is not None,
            self.immediately,
        ]
        if sum(kinds) != 1:
            raise ValueError(
                "give exactly one of working_days, same_working_day: true, hours or "
                "immediately: true"
            )
        return self

    @property
    def length(self) -> float:
        """Sort key, in hours, for showing which statement is the shorter. Only approximate
        across kinds (a working day is taken as 24 hours, the same working day as 8): the rules
        work out each statement's deadline from the moment it starts and take the earliest."""
        if self.immediately:
            return 0.0
        if self.same_working_day:
            return 8.0
        if self.hours is not None:
            return float(self.hours)
        return 24.0 * int(self.working_days or 0)

    @property
    def short(self) -> str:
        """'2 WD', 'same working day', '48 hours' or 'immediately'."""
        if self.immediately:
            return "immediately"
        if self.same_working_day:
            return "same working day"
        if self.hours is not None:
            return f"{self.hours} hour{'s' if self.hours != 1 else ''}"
        return f"{self.working_days} WD"

    @property
    def describe(self) -> str:
        """The timescale in words: 'within 2 working days', 'immediately'..."""
        if self.immediately:
            return "immediately"
        if self.same_working_day:
            return "within the same working day"
        if self.hours is not None:
            return f"within {self.hours} hour{'s' if self.hours != 1 else ''}"
        days = self.working_days
        return f"within {days} working day{'s' if days != 1 else ''}"


class Clock(_Model):
    id: Ident
    label: Text
    runs_from: RunsFrom
    # With clock_missed or clock_met: the clock at this stage whose result starts this one. A
    # clock that another follows on being missed is a window, not a deadline: when it passes,
    # it is recorded as ended and the follower runs ("if they cannot agree within 2 WD, a
    # meeting within a further 5 WD").
    after: Ident | None = None
    # With stage_entered: count from when the case entered this earlier stage instead ("step 2
    # within 5 WD of step 1"). A case that never passed through it counts from this stage.
    of_stage: StageId | None = None
    until: Until
    milestone: Milestone | None = None
    # Where the policy states a timescale more than once (text and flowchart), the shortest
    # applies (PRODUCT.md, RB-flow); all of them are kept so the pack shows both.
    timescales: list[Timescale] = Field(min_length=1)
    owner: list[Selector] = Field(default_factory=list)
    protective: bool = False  # "or a timescale that protects the adult (whichever is less)"
    local_default: bool = False  # set by the board, not by the policy text
    note: Text | None = None

    @model_validator(mode="after")
    def _start_words(self) -> Self:
        if (self.runs_from in FOLLOWS) != (self.after is not None):
            raise ValueError(
                "'after' names the clock whose result starts this one: give it exactly when "
                "runs_from is clock_missed or clock_met"
            )
        if self.after == self.id:
            raise ValueError("a clock cannot follow itself")
        if self.of_stage is not None and self.runs_from != RunsFrom.STAGE_ENTERED:
            raise ValueError("'of_stage' anchors a stage_entered clock to an earlier stage only")
        if (self.until == Until.MILESTONE) != (self.milestone is not None):
            raise ValueError("a clock has a 'milestone' exactly when it runs until: milestone")
        return self

    @property
    def effective(self) -> Timescale:
        return min(self.timescales, key=lambda t: t.length)

    @property
    def clauses(self) -> list[str]:
        seen: dict[str, None] = {}
        for timescale in self.timescales:
            seen.update(dict.fromkeys(timescale.clauses))
        return list(seen)


class StageOutcome(StrEnum):
    AGREEMENT = "agreement"  # resolved by the parties, confirmed in writing and approved
    RECOMMENDATIONS = "recommendations"  # a chair recommends; agencies respond (not binding)
    PANEL_DECISION = "panel_decision"  # a panel decides; binding on all agencies


class LeaveNotice(_Model):
    """Who is told when the case leaves a stage ("...then report it to line managers")."""

    notify: list[Selector] = Field(min_length=1)
    # On escalation to another stage, on the case being resolved at this stage, or either.
    when: Literal["escalated", "resolved", "any"] = "any"
    clauses: list[ClauseId] = Field(min_length=1)
    says: Text | None = None


class Reminders(_Model):
    """A reminder every N working days while the case waits at a stage: for a stage whose
    policy sets no timescale, so that a case never sits there unnoticed. Set for one stage, or
    for the whole pack (then it applies to each stage where no clock runs after entry)."""

    every_working_days: Annotated[int, Field(ge=1, le=60)]
    to: list[Selector] = Field(default_factory=list)  # default: the stage's actors
    clauses: list[ClauseId] = Field(default_factory=list)
    local_default: bool = True  # the board's cadence, not the policy's
    note: Text | None = None


class PanelRules(_Model):
    min_agencies: Annotated[int, Field(ge=1, le=20)]
    convened_by: list[Selector] = Field(min_length=1)
    overseen_by: list[Selector] = Field(default_factory=list)
    binding: bool = True
    clauses: list[ClauseId] = Field(min_length=1)


class RecommendationRules(_Model):
    by: list[Selector] = Field(min_length=1)
    binding: bool = False
    clauses: list[ClauseId] = Field(min_length=1)


class Stage(_Model):
    id: StageId
    name: Text
    short_name: Text
    track: Ident = "main"
    clauses: list[ClauseId] = Field(min_length=1)
    escalates_to: StageId | None = None
    actors: list[Selector] = Field(min_length=1)
    notify_on_entry: list[Selector] = Field(default_factory=list)
    advisers: list[Selector] = Field(default_factory=list)
    copy_business_manager: bool = False
    copy_clauses: list[ClauseId] = Field(default_factory=list)
    # Partner boards (the pack's `partners`) whose business manager is copied too: a step
    # chaired jointly with another board. The case stays this board's.
    copy_partners: list[Ident] = Field(default_factory=list)
    # Marks a stage that reports count as reaching senior or board level. Without any marked,
    # reports count the stages that copy the business manager.
    senior: bool = False
    on_leave: LeaveNotice | None = None
    reminders: Reminders | None = None
    clocks: list[Clock] = Field(default_factory=list)
    outcome: StageOutcome = StageOutcome.AGREEMENT
    record_requires: list[Literal["points_of_difference", "basis_of_decision"]] = Field(
        default_factory=list
    )
    entry_requires: list[Literal["aim", "evidence", "evidence_source", "reason"]] = Field(
        default_factory=list
    )
    panel: PanelRules | None = None
    recommendations: RecommendationRules | None = None
    guidance: Text | None = None

    @model_validator(mode="after")
    def _outcome_rules(self) -> Self:
        if (self.outcome == StageOutcome.PANEL_DECISION) != (self.panel is not None):
            raise ValueError("a stage has 'panel' rules exactly when its outcome is panel_decision")
        if (self.outcome == StageOutcome.RECOMMENDATIONS) != (self.recommendations is not None):
            raise ValueError(
                "a stage has 'recommendations' rules exactly when its outcome is recommendations"
            )
        if self.copy_business_manager and not self.copy_clauses:
            raise ValueError("copy_business_manager needs the clause that requires the copy")
        if self.copy_partners and not self.copy_clauses:
            raise ValueError("copy_partners needs the clause that requires the copy")
        ids = [clock.id for clock in self.clocks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"clock ids repeat in stage {self.id}: {ids}")
        by_id = {clock.id: clock for clock in self.clocks}
        for clock in self.clocks:
            if clock.after is not None and clock.after not in by_id:
                raise ValueError(
                    f"clock {clock.id!r} follows clock {clock.after!r}, which stage {self.id} "
                    f"does not have (its clocks: {', '.join(ids)})"
                )
            seen = [clock.id]
            current = clock
            while current.after is not None and current.after in by_id:
                if current.after in seen:
                    loop = " -> ".join([*seen, current.after])
                    raise ValueError(f"clocks follow each other in a loop ({loop})")
                seen.append(current.after)
                current = by_id[current.after]
        return self

    def followers(self, clock_id: str, when: RunsFrom) -> list[Clock]:
        """The clocks that start when clock `clock_id` is missed (or met)."""
        return [c for c in self.clocks if c.after == clock_id and c.runs_from == when]

    def clock(self, clock_id: str) -> Clock | None:
        return next((c for c in self.clocks if c.id == clock_id), None)


class Partner(_Model):
    """Another board that shares steps of this policy (an adults' board and a children's
    partnership with one joint protocol). Its business manager sets a channel with
    `@bot set channel` like this board's, and gets copies where a stage says so."""

    id: Ident
    name: Text
    clauses: list[ClauseId] = Field(min_length=1)


class Track(_Model):
    id: Ident
    name: Text
    entry: StageId
    clauses: list[ClauseId] = Field(min_length=1)
    description: Text | None = None


class Category(_Model):
    id: Ident
    label: Text
    clauses: list[ClauseId] = Field(min_length=1)


class Signpost(_Model):
    id: Ident
    title: Text
    text: Text
    contacts: list[Text] = Field(default_factory=list)
    clauses: list[ClauseId] = Field(min_length=1)


RaiseField = Literal["issue", "risk_to_adult", "nature_of_disagreement", "aim", "evidence"]


class ImmediateRisk(_Model):
    notify: list[Selector] = Field(min_length=1)
    # Nothing may block the urgent path (RB-1.4): an immediate-risk case opens with only these
    # answers; the others can follow.
    requires: list[RaiseField] = Field(min_length=1)
    # The shortest clock: every protective clock of a case at immediate risk falls due no later
    # than this, counted from when it starts.
    timescale: Timescale
    may_choose_start_stage: bool = False
    clauses: list[ClauseId] = Field(min_length=1)
    guidance: Text


class OwnManagerRule(_Model):
    """What happens when the other party is the raiser's own line manager."""

    blocks_case: bool
    signpost: Ident
    clauses: list[ClauseId] = Field(min_length=1)


class ChildConcern(_Model):
    signpost: Ident
    clauses: list[ClauseId] = Field(min_length=1)


class ResourceImplications(_Model):
    adds_actors: list[Selector] = Field(min_length=1)
    clauses: list[ClauseId] = Field(min_length=1)


class CaseConference(_Model):
    requires: list[Literal["meeting", "meeting_date", "dissent_minuted", "raised_with_chair"]]
    notify: list[Selector] = Field(min_length=1)
    decision_stands: bool = True
    clauses: list[ClauseId] = Field(min_length=1)
    guidance: Text


class Closure(_Model):
    learning_points: bool = True
    policy_gaps: bool = True
    debrief_offered: bool = True
    learning_route: Text | None = None
    # Whether the business-manager channel gets a copy when a case closes.
    copy_business_manager: Literal["always", "if_copied_before", "never"] = "if_copied_before"
    clauses: list[ClauseId] = Field(min_length=1)


class Nudges(_Model):
    """When the scheduler speaks. Local defaults of the product, not policy."""

    early_warning_working_days: Annotated[int, Field(ge=0, le=10)] = 1
    send_at: WallTime = time(9, 0)
    local_default: bool = True


class Wording(_Model):
    """The board's own words, where the bot speaks of the case. Defaults are a Safeguarding
    Adults Board's: a children's partnership says `person: child`, a policy of steps says
    `stage: step`."""

    # Who is at risk, as "the ___": adult, child, "child or young person", "adult or child".
    person: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "adult"
    # What the policy calls its rungs, lower case: stage, step, level.
    stage: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z -]{0,19}$")] = "stage"
    # Who makes recommendations, with its article: "the Chair", "the executive group".
    recommender: Annotated[str, StringConstraints(min_length=1, max_length=60)] = "the Chair"
    # Asked when the pack has more than one track; each track's `name` is a choice.
    track_question: Text = "Which of these describes the disagreement?"

    @property
    def the_person(self) -> str:
        return f"the {self.person}"

    @property
    def a_person(self) -> str:
        return f"{'an' if self.person[0] in 'aeiou' else 'a'} {self.person}"

    @property
    def stage_title(self) -> str:
        return self.stage[0].upper() + self.stage[1:]

    @property
    def recommender_title(self) -> str:
        return self.recommender[0].upper() + self.recommender[1:]


class Joining(_Model):
    """The roles the product looks up and grants when people join an agency in Teams, and who
    they are told to ask, in the pack's role ids. The defaults are the product's own; a pack
    whose roles are called otherwise names them here."""

    newcomer_role: Ident = "practitioner"  # what a request to join an agency asks for
    manager_roles: list[Ident] = Field(default_factory=lambda: ["line_manager"])
    admin_roles: list[Ident] = Field(default_factory=lambda: ["agency_admin"])
    # The board roles people are sent to when nobody at an agency can help.
    contact_roles: list[Ident] = Field(default_factory=lambda: ["business_manager"])


class Retention(_Model):
    closed_case_years: Annotated[int, Field(ge=1, le=100)]
    local_default: bool = True
    note: Text | None = None


class PolicyPack(_Model):
    pack_version: Literal[1]
    board: Board
    source: Source
    clauses: list[Clause] = Field(min_length=1)
    calendar: CalendarSettings = CalendarSettings()
    roles: list[Role] = Field(min_length=1)
    agencies: list[Agency] = Field(min_length=2)
    categories: list[Category] = Field(min_length=1)
    signposts: list[Signpost] = Field(default_factory=list)
    tracks: list[Track] = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1)
    default_track: Ident = "main"
    policy_issue_stage: StageId | None = None
    policy_issue_clauses: list[ClauseId] = Field(default_factory=list)
    raise_requires: list[RaiseField] = Field(min_length=1)
    raise_clauses: list[ClauseId] = Field(min_length=1)
    immediate_risk: ImmediateRisk
    own_manager: OwnManagerRule | None = None
    child_concern: ChildConcern | None = None
    resource_implications: ResourceImplications | None = None
    case_conference: CaseConference | None = None
    closure: Closure
    nudges: Nudges = Nudges()
    reminders: Reminders | None = None  # for every stage where no clock runs after entry
    partners: list[Partner] = Field(default_factory=list)
    words: Wording = Wording()
    joining: Joining = Joining()
    retention: Retention

    # -- look-ups -------------------------------------------------------------------------------

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(f"{self.board.id} has no stage {stage_id!r}")

    def stage_title(self, stage_id: str) -> str:
        """'stage 2 (Line managers)', in the pack's own word for a stage; the id alone for a
        stage the pack no longer has."""
        try:
            return f"{self.words.stage} {stage_id} ({self.stage(stage_id).name})"
        except KeyError:
            return f"{self.words.stage} {stage_id}"

    def track(self, track_id: str) -> Track:
        for track in self.tracks:
            if track.id == track_id:
                return track
        raise KeyError(f"{self.board.id} has no track {track_id!r}")

    def role(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def agency(self, agency_id: str) -> Agency | None:
        return next((a for a in self.agencies if a.id == agency_id), None)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def signpost(self, signpost_id: str) -> Signpost | None:
        return next((s for s in self.signposts if s.id == signpost_id), None)

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def senior_stages(self) -> list[Stage]:
        """The stages reports count as senior or board level: those marked `senior`, else those
        that copy the business manager."""
        marked = [s for s in self.stages if s.senior]
        return marked or [s for s in self.stages if s.copy_business_manager]

    def clause_ids(self) -> set[str]:
        return {c.id for c in self.clauses}

    def stage_path(self, track_id: str) -> list[Stage]:
        """The stages a case on this track passes through, in order."""
        path: list[Stage] = []
        current: str | None = self.track(track_id).entry
        while current is not None:
            stage = self.stage(current)
            path.append(stage)
            current = stage.escalates_to
        return path

    # -- cross-reference checks ------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        problems: list[str] = []
        problems += _duplicates("roles", [r.id for r in self.roles])
        problems += _duplicates("agencies", [a.id for a in self.agencies])
        problems += _duplicates("categories", [c.id for c in self.categories])
        problems += _duplicates("signposts", [s.id for s in self.signposts])
        problems += _duplicates("tracks", [t.id for t in self.tracks])
        problems += _duplicates("stages", [s.id for s in self.stages])
        problems += _duplicates("clauses", [c.id for c in self.clauses])
        problems += _duplicates("partners", [p.id for p in self.partners])
        if problems:
            raise ValueError(PROBLEM_SEPARATOR.join(problems))

        stage_ids = {s.id for s in self.stages}
        track_ids = {t.id for t in self.tracks}
        clause_ids = self.clause_ids()
        roles = {r.id: r for r in self.roles}
        escalated_into = {s.escalates_to for s in self.stages} | {self.policy_issue_stage}
        graph_problems, reachable = self._stage_graph()

        def check_clauses(where: str, ids: list[str]) -> None:
            problems.extend(
                f"{where}: clause {cid!r} is not listed in 'clauses'"
                for cid in ids
                if cid not in clause_ids
            )

        def check_selectors(where: str, selectors: list[Selector]) -> None:
            for i, sel in enumerate(selectors):
                wanted = RoleScope.AGENCY if sel.who == "agency_role" else RoleScope.BOARD
                for role_id in sel.roles:
                    role = roles.get(role_id)
                    if role is None:
                        problems.append(f"{where}.{i}: role {role_id!r} is not in 'roles'")
                    elif role.scope != wanted:
                        problems.append(
                            f"{where}.{i}: role {role_id!r} is {_a(role.scope)} role, "
                            f"but '{sel.who}' needs {_a(wanted)} role"
                        )

        for index, role in enumerate(self.roles):
            check_clauses(f"roles.{index}", role.clauses)
        for index, cat in enumerate(self.categories):
            check_clauses(f"categories.{index}", cat.clauses)
        for index, sign in enumerate(self.signposts):
            check_clauses(f"signposts.{index}", sign.clauses)
        for index, track in enumerate(self.tracks):
            check_clauses(f"tracks.{index}", track.clauses)
            if track.entry not in stage_ids:
                problems.append(f"tracks.{index}.entry: no stage {track.entry!r}")
        if self.default_track not in track_ids:
            problems.append(f"default_track: no track {self.default_track!r}")
        partner_ids = {p.id for p in self.partners}
        for index, partner in enumerate(self.partners):
            check_clauses(f"partners.{index}", partner.clauses)
            if partner.id == self.board.id:
                problems.append(f"partners.{index}: {partner.id!r} is this board itself")
        problems += self._joining_problems(roles)
        if self.reminders is not None:
            check_clauses("reminders", self.reminders.clauses)
            check_selectors("reminders.to", self.reminders.to)
        for index, stage in enumerate(self.stages):
            where = f"stages.{index} (stage {stage.id!r})"
            if stage.track not in track_ids:
                problems.append(f"{where}.track: no track {stage.track!r}")
            if stage.escalates_to is not None and stage.escalates_to not in stage_ids:
                problems.append(f"{where}.escalates_to: no stage {stage.escalates_to!r}")
            check_clauses(where, stage.clauses + stage.copy_clauses)
            check_selectors(f"{where}.actors", stage.actors)
            check_selectors(f"{where}.notify_on_entry", stage.notify_on_entry)
            check_selectors(f"{where}.advisers", stage.advisers)
            problems.extend(
                f"{where}.copy_partners: no partner {partner_id!r} in 'partners'"
                for partner_id in stage.copy_partners
                if partner_id not in partner_ids
            )
            if stage.on_leave is not None:
                check_clauses(f"{where}.on_leave", stage.on_leave.clauses)
                check_selectors(f"{where}.on_leave.notify", stage.on_leave.notify)
                if stage.on_leave.when == "escalated" and stage.escalates_to is None:
                    problems.append(
                        f"{where}.on_leave.when: is escalated, but stage {stage.id!r} is the "
                        "last stage: nobody would ever be told"
                    )
            if stage.reminders is not None:
                check_clauses(f"{where}.reminders", stage.reminders.clauses)
                check_selectors(f"{where}.reminders.to", stage.reminders.to)
            for clock in stage.clocks:
                if clock.of_stage is not None and stage.id in reachable:
                    before = self._stages_before(stage.id)
                    if clock.of_stage not in before:
                        problems.append(
                            f"{where}.clocks ({clock.id!r}).of_stage: stage {clock.of_stage!r} "
                            f"never comes before stage {stage.id!r} (before it: "
                            f"{', '.join(sorted(before)) or 'none'})"
                        )
                check_clauses(f"{where}.clocks ({clock.id!r})", clock.clauses)
                check_selectors(f"{where}.clocks ({clock.id!r}).owner", clock.owner)
                if clock.milestone is not None:
                    check_selectors(
                        f"{where}.clocks ({clock.id!r}).milestone.recorded_by",
                        clock.milestone.recorded_by,
                    )
                if stage.id in reachable:  # an unreachable stage is reported once, below
                    problems.extend(
                        f"{where}.clocks ({clock.id!r}).{problem}"
                        for problem in _clock_problems(stage, clock, escalated_into)
                    )
            if stage.panel is not None:
                check_clauses(f"{where}.panel", stage.panel.clauses)
                check_selectors(f"{where}.panel.convened_by", stage.panel.convened_by)
                check_selectors(f"{where}.panel.overseen_by", stage.panel.overseen_by)
                members = sum(1 for a in self.agencies if a.board_member)
                if members < stage.panel.min_agencies + 2:
                    problems.append(
                        f"{where}.panel.min_agencies: {stage.panel.min_agencies} uninvolved "
                        f"agencies cannot be found among {members} board members"
                    )
            if stage.recommendations is not None:
                check_clauses(f"{where}.recommendations", stage.recommendations.clauses)
                check_selectors(f"{where}.recommendations.by", stage.recommendations.by)
        problems += graph_problems

        if self.policy_issue_stage is not None:
            if self.policy_issue_stage not in stage_ids:
                problems.append(f"policy_issue_stage: no stage {self.policy_issue_stage!r}")
            if not self.policy_issue_clauses:
                problems.append("policy_issue_stage needs policy_issue_clauses")
        check_clauses("policy_issue_clauses", self.policy_issue_clauses)
        check_clauses("raise_clauses", self.raise_clauses)
        check_clauses("immediate_risk", self.immediate_risk.clauses)
        check_clauses("immediate_risk.timescale", self.immediate_risk.timescale.clauses)
        check_selectors("immediate_risk.notify", self.immediate_risk.notify)
        if self.own_manager is not None:
            check_clauses("own_manager", self.own_manager.clauses)
            if self.signpost(self.own_manager.signpost) is None:
                problems.append(f"own_manager.signpost: no signpost {self.own_manager.signpost!r}")
        if self.child_concern is not None:
            check_clauses("child_concern", self.child_concern.clauses)
            if self.signpost(self.child_concern.signpost) is None:
                problems.append(
                    f"child_concern.signpost: no signpost {self.child_concern.signpost!r}"
                )
        if self.resource_implications is not None:
            check_clauses("resource_implications", self.resource_implications.clauses)
            check_selectors(
                "resource_implications.adds_actors", self.resource_implications.adds_actors
            )
        if self.case_conference is not None:
            check_clauses("case_conference", self.case_conference.clauses)
            check_selectors("case_conference.notify", self.case_conference.notify)
        check_clauses("closure", self.closure.clauses)
        if problems:
            raise ValueError(PROBLEM_SEPARATOR.join(problems))
        return self

    def _joining_problems(self, roles: dict[str, Role]) -> list[str]:
        """Role ids a pack names for joining must be its own (the defaults need not be: a pack
        that leaves them unsaid keeps the product's)."""
        joining = self.joining
        wanted = {
            "newcomer_role": ([joining.newcomer_role], RoleScope.AGENCY),
            "manager_roles": (joining.manager_roles, RoleScope.AGENCY),
            "admin_roles": (joining.admin_roles, RoleScope.AGENCY),
            "contact_roles": (joining.contact_roles, RoleScope.BOARD),
        }
        problems: list[str] = []
        for field, (ids, scope) in wanted.items():
            if field not in joining.model_fields_set:
                continue
            for role_id in ids:
                role = roles.get(role_id)
                if role is None:
                    problems.append(f"joining.{field}: role {role_id!r} is not in 'roles'")
                elif role.scope != scope:
                    problems.append(
                        f"joining.{field}: role {role_id!r} is {_a(role.scope)} role, but this "
                        f"needs {_a(scope)} role"
                    )
        return problems

    def _stages_before(self, stage_id: str) -> set[str]:
        """Every stage some track passes through before reaching `stage_id`."""
        by_id = {s.id: s for s in self.stages}
        before: set[str] = set()
        for track in self.tracks:
            seen: list[str] = []
            current: str | None = track.entry
            while current is not None and current in by_id and current not in seen:
                if current == stage_id:
                    before.update(seen)
                    break
                seen.append(current)
                current = by_id[current].escalates_to
        return before

    def _stage_graph(self) -> tuple[list[str], set[str]]:
        """Each track must reach its stages without a loop, and every stage must be reachable.
        Returns the problems and the ids of the stages some track reaches."""
        problems: list[str] = []
        by_id = {s.id: s for s in self.stages}
        reachable: set[str] = set()
        for index, track in enumerate(self.tracks):
            seen: list[str] = []
            current: str | None = track.entry
            while current is not None and current in by_id:
                if current in seen:
                    loop = " -> ".join([*seen, current])
                    problems.append(f"tracks.{index}: stages loop ({loop})")
                    break
                seen.append(current)
                current = by_id[current].escalates_to
            reachable.update(seen)
        problems.extend(
            f"stages.{i} (stage {s.id!r}): no track reaches this stage"
            for i, s in enumerate(self.stages)
            if s.id not in reachable
        )
        return problems, reachable


def _clock_problems(stage: Stage, clock: Clock, escalated_into: set[str | None]) -> list[str]:
    """A clock whose start or stop can never happen at its stage would pass unnoticed until a
    case sat at the stage with a deadline that never ran, or could never be met."""
    problems: list[str] = []
    if clock.runs_from == RunsFrom.ESCALATION_TRIGGERED and stage.id not in escalated_into:
        problems.append(
            f"runs_from: is escalation_triggered, but no stage escalates to stage {stage.id!r}: "
            "this clock would never start"
        )
    if clock.until == Until.OUTCOME_CONFIRMED and stage.outcome != StageOutcome.AGREEMENT:
        ends = _OUTCOME_WORDS[stage.outcome]
        problems.append(
            f"until: is outcome_confirmed, but stage {stage.id!r} ends with {ends}, where no "
            "outcome is confirmed: this clock could never be met"
        )
    return problems


_OUTCOME_WORDS = {
    StageOutcome.AGREEMENT: "an agreed outcome",
    StageOutcome.RECOMMENDATIONS: "recommendations",
    StageOutcome.PANEL_DECISION: "a panel decision",
}


def _a(scope: RoleScope) -> str:
    return f"an {scope.value}" if scope == RoleScope.AGENCY else f"a {scope.value}"


def _duplicates(where: str, ids: list[str]) -> list[str]:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    return [f"{where}: id {i!r} is used more than once" for i in repeated]
