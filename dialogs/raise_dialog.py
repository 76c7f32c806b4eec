"""Raise a disagreement: ask what the policy needs (RB-4.2, HW-4.2), check back, then save.

The dialog only collects and checks answers; the core decides. Each typed answer is checked as
it is given with the core's own rules (`escalation.rules.text`: `check_text`, `check_reference`)
and asked again with the reason, so the core's final check finds nothing the dialog could have caught.
Questions with choices (the board, the other agency, the category, the answer to change) are
cards of whole titles answered with ids, or typed (`dialogs.choice_prompt`); the other
professional is picked by directory id, never by name (`dialogs.people_picker`).
Nothing is saved until the person confirms the summary, and the case opens through
`EscalationService`. If the core still refuses, or the person says no at the summary, the
answers are kept and the person chooses one to change.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import Any

from botbuilder.core import MessageFactory
from botbuilder.dialogs import (
    DialogContext,
    DialogTurnResult,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.choices import Choice, FoundChoice, ListStyle
from botbuilder.dialogs.prompts import (
    ChoicePrompt,
    PromptOptions,
    PromptValidatorContext,
    TextPrompt,
)

from bot.messages import card_message
from bot.turn_errors import note_saved
from cards.welcome import signpost_card
from dialogs.answers import AnswerError, date_hint, parse_day, reference_answer, text_answer
from dialogs.base import BESIDE_SAVE, BesideSave, CancelAndHelpDialog
from dialogs.choice_prompt import ChoiceCardPrompt, card_choice_options
from dialogs.confirm_prompt import QuickConfirmPrompt
from dialogs.people_picker import PeoplePicker
from dialogs.told import being_told, immediate_risk_notice, preview_case
from escalation.commands import OtherParty, RaiseDisagreement
from escalation.directory import Directory
from escalation.errors import ConcurrencyConflict, Refused
from escalation.packs import PackRegistry
from escalation.parties import candidates, is_exact_name, label
from escalation.policy import PolicyPack
from escalation.ports import DirectorySource
from escalation.rules.raising import own_manager_rule
from escalation.service import EscalationService

Step = Callable[[WaterfallStepContext], Coroutine[Any, Any, DialogTurnResult]]

NOT_ON_TEAMS = "Someone not on Teams"  # the picker's option in earlier releases
CANCEL = "Cancel"
UNCHANGED = "No change: show the summary again"
# The change menu's choices besides the answers themselves (no answer has these names).
CANCEL_ID = "cancel"
UNCHANGED_ID = "unchanged"
# "{person}" is the pack's word for who is at risk (`words.person`: adult, child...).
QUESTIONS: dict[str, str] = {
    "issue": "What is the issue you are concerned about?",
    "risk_to_adult": "What is the risk to the {person}?",
    "nature_of_disagreement": "What exactly do you disagree about?",
    "aim": "What do you aim to achieve?",
    "evidence": "What evidence supports your view, and where does it come from?",
}
LABELS = {
    "issue": "The issue",
    "risk_to_adult": "The risk to the {person}",
    "nature_of_disagreement": "The disagreement",
    "aim": "Your aim",
    "evidence": "The evidence",
}
# Every typed answer: its question and its label when the person picks one to change.
TYPED: dict[str, tuple[str, str]] = {
    "outside_name": ("What is their name and role?", "Their name and role"),
    "outside_email": ("Their work email (or 'skip')?", "Their work email"),
    "adult_reference": (
        "The {person}'s case reference at your agency (no name needed)?",
        "The {person}'s case reference",
    ),
    "start_reason": ("Why start at that {stage}?", "Why start at that {stage}"),
    **{field: (question, LABELS[field]) for field, question in QUESTIONS.items()},
    # Asked with `date_hint`, whose example is one the prompt accepts on the day it is asked.
    "day_text": (
        "When did the disagreement arise (or the decision reach you)?",
        "The date of the disagreement",
    ),
}
# The core's names for the answers it checks, so that its reasons read the same here.
CORE_NAMES = {
    "start_reason": "reason for the starting stage",
    "outside_name": "name and role",
    "outside_email": "work email",
}
# The dialog's options that begin it at the summary with answers it was given (a raise whose
# save was never finished: bot.teams_bot), and the answer that carries the id the case opens
# as (chosen at the summary).
RESUME = "resume"
SAVING_AS = "case_id"
# What the summary and the command need; the rest of the steps' values are lookup tables.
ANSWER_KEYS = (
    "person_id",
    "board",
    "agency_id",
    "other_id",
    "outside_name",
    "outside_email",
    "adult_reference",
    "category",
    "track",
    "immediate_risk",
    "start_stage",
    "start_reason",
    "child_concern",
    *QUESTIONS,
    "day_text",
)


def _prompt(
    text: str,
    retry: str | None = None,
    choices: list[str] | None = None,
    field: str | None = None,
) -> PromptOptions:
    return PromptOptions(
        prompt=MessageFactory.text(text),
        retry_prompt=MessageFactory.text(retry or text),
        choices=[Choice(c) for c in choices] if choices else None,
        style=ListStyle.hero_card if choices else None,
        validations=field,  # which answer this is, for the validator
    )


class RaiseDialog(CancelAndHelpDialog):
    help_text = (
        "I am asking what the policy needs to open a case: who you disagree with, the risk to "
        "the person at risk, the issue, what you disagree about, your aim and your evidence. Type "
        "'cancel' to stop; nothing is saved until you confirm the summary."
    )
    doing = "raising a disagreement"
    skippable = frozenset({"optional"})

    def __init__(
        self,
        *,
        packs: PackRegistry,
        directory: DirectorySource,
        service: EscalationService,
        today: Callable[[], date],
    ) -> None:
        super().__init__("raise")
        self._packs = packs
        self._directory = directory
        self._service = service
        self._today = today
        self.add_dialog(TextPrompt("text", self._required_text))
        self.add_dialog(TextPrompt("optional", self._optional_text))
        self.add_dialog(TextPrompt("reference", self._reference))
        self.add_dialog(TextPrompt("day", self._day))
        self.add_dialog(ChoicePrompt("choice"))
        self.add_dialog(ChoiceCardPrompt("pick"))
        self.add_dialog(PeoplePicker("people", directory=directory, packs=packs))
        self.add_dialog(QuickConfirmPrompt("confirm"))
        steps: list[Step] = [
            self.board,
            self.agency,
            self.other_person,
            self.outside_name,
            self.outside_email,
            self.reference,
            self.category,
            self.track,
            self.immediate,
            self.start_stage,
            self.start_reason,
            self.child,
        ]
        for field in QUESTIONS:
            steps.append(self._ask(field))
        # `legacy_confirm` keeps the step count of earlier releases (summary, save), so a dialog
        # stored mid-way by one of them resumes at the right step after a deploy.
        steps += [self.disagreement_day, self.review, self.legacy_confirm]
        # A dialog stored by an earlier release, which had no track question, resumes in the
        # steps it was asked with.
        earlier = [step for step in steps if step != self.track]
        self.add_dialog(WaterfallDialog("steps", earlier))
        self.add_dialog(WaterfallDialog("steps-with-track", steps))
        self.add_dialog(WaterfallDialog("review", [self.summary, self.save]))
        self.add_dialog(WaterfallDialog("change", [self.which, self.ask_again, self.changed]))
        self.initial_dialog_id = "steps-with-track"

    async def on_begin_dialog(
        self, inner_dc: DialogContext, options: object = None
    ) -> DialogTurnResult:
        """From the first question, or, given {RESUME: answers}, from the summary of those
        answers (its "Raise this disagreement now?" and its way to change one)."""
        if isinstance(options, dict) and isinstance(options.get(RESUME), dict):
            return await inner_dc.begin_dialog("review", dict(options[RESUME]))
        return await super().on_begin_dialog(inner_dc, options)

    # -- helpers ------------------------------------------------------------------------------

    def _pack(self, step: WaterfallStepContext) -> PolicyPack:
        return self._packs.get(step.values["board"])

    def _words(self, text: str, answers: Mapping[str, Any]) -> str:
        """A question or label in the board's words (who is at risk, what it calls a stage)."""
        words = self._packs.get(answers["board"]).words
        return text.format(person=words.person, stage=words.stage)

    @staticmethod
    def _track_of(pack: PolicyPack, answers: Mapping[str, Any]) -> str:
        chosen = answers.get("track")
        return chosen if chosen in {t.id for t in pack.tracks} else pack.default_track

    async def _people(self) -> Directory:
        return await self._directory.snapshot()

    def _remember(self, step: WaterfallStepContext) -> None:
        """Store the previous question's answer under the name the step that asked it left."""
        pending = step.values.pop("asked", None)
        if pending and step.result is not None:
            value = step.result
            if hasattr(value, "value") and not isinstance(value, str | bool):
                value = value.value  # a FoundChoice
            if pending in TYPED:
                value = self._checked_or_raw(pending, value, step.values)
            step.values[pending] = value

    def _required(self, field: str, answers: Mapping[str, Any]) -> bool:
        if field in QUESTIONS:
            pack = self._packs.get(answers["board"])
            rule = pack.immediate_risk.requires if answers.get("immediate_risk") else None
            return field in (rule if rule is not None else pack.raise_requires)
        return field != "outside_email"

    def _check_typed(self, field: str, value: object, answers: Mapping[str, Any]) -> str:
        """A typed answer as it will be saved, by the core's checks; `AnswerError` says why not."""
        text = "" if value is None else str(value)
        if field == "adult_reference":
            return reference_answer(text, self._packs.get(answers["board"]).words.person)
        if field == "day_text":
            return parse_day(text, self._today()).isoformat()  # fixed now: 'today' stays today
        required = self._required(field, answers)
        if not required and not text.strip():
            return ""  # an optional answer never given (or skipped)
        return text_answer(text, name=CORE_NAMES.get(field, field), required=required)

    def _checked_or_raw(self, field: str, value: object, answers: Mapping[str, Any]) -> object:
        try:
            return self._check_typed(field, value, answers)
        except AnswerError:
            return value  # asked by a prompt of an earlier release; the review asks again

    @staticmethod
    def _typed_fields(answers: Mapping[str, Any]) -> list[str]:
        """The typed answers this raise has, in the order they were asked."""
        fields = []
        for field in TYPED:
            if field in ("outside_name", "outside_email") and answers.get("other_id"):
                continue
            if field == "start_reason" and not answers.get("start_stage"):
                continue
            fields.append(field)
        return fields

    def _problem(self, answers: Mapping[str, Any]) -> tuple[str, str] | None:
        """The first answer the core would refuse, and why (a date can go stale overnight)."""
        for field in self._typed_fields(answers):
            try:
                self._check_typed(field, answers.get(field), answers)
            except AnswerError as exc:
                return field, str(exc)
        return None

    async def _ask_typed(
        self, step: WaterfallStepContext, field: str, answers: Mapping[str, Any]
    ) -> DialogTurnResult:
        question = self._words(TYPED[field][0], answers)
        validations = field
        if field == "adult_reference":
            prompt = "reference"
            # The validator's reasons name who is at risk in the board's word.
            validations = f"{field}:{self._packs.get(answers['board']).words.person}"
        elif field == "day_text":
            prompt = "day"
            question += " " + date_hint(self._today())  # today's: its example is always taken
        elif self._required(field, answers):
            prompt = "text"
        else:
            prompt = "optional"
            if field in QUESTIONS:
                question += " (or 'skip')"
        step.values["asked"] = field
        return await step.prompt(prompt, _prompt(question, field=validations))

    async def _ask_choice(
        self, step: WaterfallStepContext, name: str, text: str, choices: list[str]
    ) -> DialogTurnResult:
        step.values["asked"] = name
        return await step.prompt(
            "choice", _prompt(text, f"Pick one of the options. {text}", choices)
        )

    async def _ask_card(
        self,
        step: WaterfallStepContext,
        name: str,
        text: str,
        choices: list[tuple[str, str]],
    ) -> DialogTurnResult:
        """Ask with a card of whole (id, title) choices; the answer, an id, is kept as `name`."""
        step.values["asked"] = name
        return await step.prompt("pick", card_choice_options(text, f"pick.{name}", choices))

    async def _ask_confirm(
        self, step: WaterfallStepContext, name: str, text: str
    ) -> DialogTurnResult:
        step.values["asked"] = name
        return await step.prompt("confirm", _prompt(text, f"Please answer yes or no. {text}"))

    @staticmethod
    async def _signpost(step: WaterfallStepContext, pack: PolicyPack, signpost_id: str) -> None:
        """Show a pack's signpost (MASH, whistle-blowing...) as its card, with its contacts."""
        signpost = pack.signpost(signpost_id)
        if signpost is not None:
            await step.context.send_activity(
                card_message(signpost_card(signpost, pack.words.person))
            )

    # -- validators ---------------------------------------------------------------------------

    @staticmethod
    async def _check(pc: PromptValidatorContext, check: Callable[[str], object]) -> bool:
        if not pc.recognized.succeeded:
            return False
        try:
            check(pc.recognized.value)
        except AnswerError as exc:
            await pc.context.send_activity(MessageFactory.text(str(exc)))
            # Having replied, the prompt would not repeat itself: ask the question again here.
            question = pc.options.retry_prompt or pc.options.prompt
            if question is not None:
                await pc.context.send_activity(question)
            return False
        return True

    @staticmethod
    def _field(pc: PromptValidatorContext) -> str:
        field = getattr(pc.options, "validations", None)
        return str(field).partition(":")[0] if field else "answer"

    async def _required_text(self, pc: PromptValidatorContext) -> bool:
        name = CORE_NAMES.get(self._field(pc), self._field(pc))
        return await self._check(pc, lambda t: text_answer(t, name=name, required=True))

    async def _optional_text(self, pc: PromptValidatorContext) -> bool:
        name = CORE_NAMES.get(self._field(pc), self._field(pc))
        return await self._check(pc, lambda t: text_answer(t, name=name, required=False))

    async def _reference(self, pc: PromptValidatorContext) -> bool:
        person = str(getattr(pc.options, "validations", None) or "").partition(":")[2] or None
        return await self._check(pc, lambda t: reference_answer(t, person))

    async def _day(self, pc: PromptValidatorContext) -> bool:
        return await self._check(pc, lambda t: parse_day(t, self._today()))

    # -- steps --------------------------------------------------------------------------------

    async def board(self, step: WaterfallStepContext) -> DialogTurnResult:
        options: dict[str, Any] = dict(step.options or {})
        step.values["person_id"] = options["person_id"]
        person = (await self._people()).person(options["person_id"])
        boards = [p for p in self._packs if person is not None and p.agency(person.agency_id)]
        if not boards:
            await step.context.send_activity(
                "Your agency is not one of the boards' partner agencies in my directory. Ask "
                "your board's business manager to add it."
            )
            return await step.end_dialog()
        if len(boards) == 1:
            step.values["board"] = boards[0].board.id
            return await step.next(None)
        return await self._ask_card(
            step,
            "board",
            "Which board's policy applies?",
            [(p.board.id, p.board.name) for p in boards],
        )

    async def agency(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        if "board_name" in step.values:  # chosen by name in an earlier release
            step.values["board"] = step.values["boards"][step.values.pop("board_name")]
        pack = self._pack(step)
        await step.context.send_activity(
            f"If {pack.words.the_person} is in immediate danger, call 999 now. This is not a "
            f"complaints process; complaints from {pack.words.the_person} or family go to the "
            "agency concerned. Type 'cancel' at any time."
        )
        # A disagreement is between agencies: the raiser's own is not offered.
        raiser = (await self._people()).person(step.values["person_id"])
        own = raiser.agency_id if raiser is not None else None
        return await self._ask_card(
            step,
            "agency_id",
            "Which agency is the other professional in?",
            [(a.id, a.name) for a in pack.agencies if a.id != own],
        )

    async def other_person(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        if "agency_name" in step.values:  # chosen by name in an earlier release
            step.values["agency_id"] = step.values["agencies"][step.values.pop("agency_name")]
        options = {
            "board": step.values["board"],
            "agency_id": step.values["agency_id"],
            "raiser_id": step.values["person_id"],
        }
        return await step.begin_dialog("people", options)

    async def outside_name(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        chosen: object = step.result  # the picker's: a directory id, or None (not on Teams)
        if "other_name" in step.values:  # picked by display name in an earlier release
            found = await self._by_old_name(step, str(step.values.pop("other_name")))
            step.values.pop("people", None)
            if found is False:
                await step.context.send_activity(
                    "I cannot tell from that name alone who you meant. Type 'raise' to start "
                    "again; nothing was saved."
                )
                return await step.end_dialog()
            chosen = found
        if isinstance(chosen, str) and chosen:
            step.values["other_id"] = chosen
            return await step.next(None)
        return await self._ask_typed(step, "outside_name", step.values)

    async def _by_old_name(self, step: WaterfallStepContext, name: str) -> str | bool | None:
        """An earlier release's answer, a display name, as a directory id: None for someone not
        on Teams, False when the name no longer names exactly one of the agency's people."""
        if name == NOT_ON_TEAMS:
            return None
        people = candidates(
            await self._people(),
            board_id=step.values["board"],
            agency_id=step.values["agency_id"],
            raiser_id=step.values["person_id"],
        )
        named = [p.id for p in people if is_exact_name(p, name)]
        return named[0] if len(named) == 1 else False

    async def outside_email(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        if "other_id" in step.values:
            return await step.next(None)
        return await self._ask_typed(step, "outside_email", step.values)

    async def reference(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        person = (await self._people()).person(step.values["person_id"])
        pack = self._pack(step)
        rule = own_manager_rule(pack, person, step.values.get("other_id")) if person else None
        if rule is not None:
            await step.context.send_activity("That is your own line manager.")
            await self._signpost(step, pack, rule.signpost)
            if rule.blocks_case:
                return await step.end_dialog()
        return await self._ask_typed(step, "adult_reference", step.values)

    async def category(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        pack = self._pack(step)
        return await self._ask_card(
            step, "category", "What is it about?", [(c.id, c.label) for c in pack.categories]
        )

    async def track(self, step: WaterfallStepContext) -> DialogTurnResult:
        """Which of the policy's routes the disagreement follows, where it has more than one
        (a threshold decision, say): asked in the pack's own words."""
        self._remember(step)
        self._category_by_label(step)
        pack = self._pack(step)
        if len(pack.tracks) < 2:
            return await step.next(None)
        return await self._ask_card(
            step, "track", pack.words.track_question, [(t.id, t.name) for t in pack.tracks]
        )

    @staticmethod
    def _category_by_label(step: WaterfallStepContext) -> None:
        if "category_label" in step.values:  # chosen by label in an earlier release
            step.values["category"] = step.values["categories"][step.values.pop("category_label")]

    async def immediate(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        self._category_by_label(step)
        person = self._pack(step).words.the_person
        return await self._ask_confirm(
            step, "immediate_risk", f"Is {person} at immediate risk of significant harm?"
        )

    async def start_stage(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        pack = self._pack(step)
        if step.values.get("immediate_risk"):
            # Nothing is saved yet, so nobody has been told: say who will be, by name. (The
            # pack's guidance is worded for after the raise, and is not said here.)
            people = await self._people()
            case = preview_case(pack, people, step.values, self._today())
            notice = immediate_risk_notice(case, pack, people)
            await step.context.send_activity(MessageFactory.text(notice))
            if pack.immediate_risk.may_choose_start_stage:
                stages = pack.stage_path(self._track_of(pack, step.values))
                title = pack.words.stage_title
                step.values["stages"] = {f"{title} {s.id}: {s.short_name}": s.id for s in stages}
                return await self._ask_choice(
                    step,
                    "stage_label",
                    f"Which {pack.words.stage} should it start at?",
                    list(step.values["stages"]),
                )
        return await step.next(None)

    async def start_reason(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        label = step.values.pop("stage_label", None)
        if label is not None:
            step.values["start_stage"] = step.values["stages"][label]
        pack = self._pack(step)
        first = pack.stage_path(self._track_of(pack, step.values))[0].id
        if step.values.get("start_stage", first) != first:
            return await self._ask_typed(step, "start_reason", step.values)
        step.values.pop("start_stage", None)
        return await step.next(None)

    async def child(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        if self._pack(step).child_concern is None:
            return await step.next(None)
        return await self._ask_confirm(
            step,
            "child_concern",
            "Is there a concern about a child or young person in the household?",
        )

    def _ask(self, field: str) -> Step:
        async def ask(step: WaterfallStepContext) -> DialogTurnResult:
            self._remember(step)
            pack = self._pack(step)
            if field == "issue" and step.values.get("child_concern") and pack.child_concern:
                await self._signpost(step, pack, pack.child_concern.signpost)
            return await self._ask_typed(step, field, step.values)

        return ask

    async def disagreement_day(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        return await self._ask_typed(step, "day_text", step.values)

    async def review(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)
        answers = {k: step.values[k] for k in ANSWER_KEYS if k in step.values}
        for field in self._typed_fields(answers):  # as saved ('skip' is no text); legacy too
            answers[field] = self._checked_or_raw(field, answers.get(field), answers)
        return await step.replace_dialog("review", answers)

    async def legacy_confirm(self, step: WaterfallStepContext) -> DialogTurnResult:
        self._remember(step)  # the yes or no to a summary an earlier release showed
        step.values.pop("confirmed", None)
        return await self.review(step)

    # -- review: the summary, then save or change an answer -----------------------------------

    async def summary(self, step: WaterfallStepContext) -> DialogTurnResult:
        v: dict[str, Any] = dict(step.options or {})
        # The id the case opens as, chosen once and kept with the answers (through changes,
        # and a save that was never finished): however often "yes" is said, one case opens.
        if not isinstance(v.get(SAVING_AS), str):
            v[SAVING_AS] = self._service.case_id_for(v["board"])
        step.values["answers"] = v
        problem = self._problem(v)
        if problem is not None:
            return await self._fix(step, v, *problem)
        pack = self._packs.get(v["board"])
        people = await self._people()
        other = people.person(v.get("other_id"))
        lines = [
            f"**Risk to {pack.words.the_person}:** {v.get('risk_to_adult', '')}"
            + (" — **IMMEDIATE RISK**" if v.get("immediate_risk") else ""),
            f"**Board:** {pack.board.name}",
            f"**Other professional:** {label(other) if other else v.get('outside_name')}",
            f"**{pack.words.person.capitalize()}'s case reference:** {v['adult_reference']}",
            f"**Category:** {next(c.label for c in pack.categories if c.id == v['category'])}",
        ]
        lines += [
            f"**{self._words(LABELS[f], v)}:** {v[f]}"
            for f in QUESTIONS
            if v.get(f) and f != "risk_to_adult"
        ]
        if len(pack.tracks) > 1:
            lines.append(f"**Route:** {pack.track(self._track_of(pack, v)).name}")
        lines.append(
            f"**Date of the disagreement:** {parse_day(v['day_text'], self._today()):%d %B %Y}"
        )
        if v.get("start_stage"):
            lines.append(
                f"**Start at {pack.words.stage}:** {v['start_stage']} ({v.get('start_reason', '')})"
            )
        await step.context.send_activity(MessageFactory.text("\n\n".join(lines)))
        question = "Raise this disagreement now?"
        return await step.prompt(
            "confirm", _prompt(question, f"Please answer yes or no. {question}")
        )

    async def save(self, step: WaterfallStepContext) -> DialogTurnResult:
        v: dict[str, Any] = step.values["answers"]
        if not step.result:
            return await step.replace_dialog("change", {"answers": v})
        problem = self._problem(v)  # the summary may have waited past midnight
        if problem is not None:
            return await self._fix(step, v, *problem)
        other = OtherParty(
            agency_id=v["agency_id"],
            person_id=v.get("other_id"),
            name=v.get("outside_name"),
            email=v.get("outside_email") or None,
        )
        command = RaiseDisagreement(
            actor_id=v["person_id"],
            board_id=v["board"],
            other_party=other,
            adult_reference=reference_answer(
                v["adult_reference"], self._packs.get(v["board"]).words.person
            ),
            category=v["category"],
            disagreement_date=parse_day(v["day_text"], self._today()),
            immediate_risk=bool(v.get("immediate_risk")),
            child_concern=bool(v.get("child_concern")),
            track=v.get("track"),
            start_stage=v.get("start_stage"),
            start_reason=v.get("start_reason"),
            issue=v.get("issue") or "",
            risk_to_adult=v.get("risk_to_adult") or "",
            nature_of_disagreement=v.get("nature_of_disagreement") or "",
            aim=v.get("aim") or "",
            evidence=v.get("evidence") or "",
        )
        # The id chosen at the summary (none in a dialog an earlier release stored at it).
        case_id = v.get(SAVING_AS)
        try:
            # The conversation's state, which this step ends, is written beside the case, with
            # a note of the raise in flight (dialogs.base.BesideSave).
            beside: BesideSave | None = step.context.turn_state.get(BESIDE_SAVE)
            outcome = await self._service.execute(
                command,
                alongside=beside(v) if beside is not None else None,
                case_id=case_id if isinstance(case_id, str) else None,
            )
        except ConcurrencyConflict:
            if not isinstance(case_id, str):
                raise
            if (await self._service.case(case_id)).raised_by != v["person_id"]:
                # Another raise drew the same id: this one takes a new one, and asks again.
                del v[SAVING_AS]
                await step.context.send_activity("This is not saved yet: please confirm again.")
                return await step.replace_dialog("review", v)
            # This raise, saved by an earlier "yes" (whose reply may have been lost).
            await step.context.send_activity(
                MessageFactory.text(f"Your disagreement was already saved: case {case_id} is open.")
            )
            return await step.end_dialog(case_id)
        except Refused as refusal:
            # Keep every answer: the person changes one and confirms again, or cancels.
            await step.context.send_activity(
                f"This is not saved yet: {refusal.reason} Your answers are kept."
            )
            return await step.replace_dialog("change", {"answers": v})
        # The case card is not sent as this reply: the raiser's copy was saved in the outbox
        # with the case (escalation.notifications, "case_opened"), so it reaches them even if
        # this reply is lost or the app stops right after the save. Sending it here as well
        # showed the same card twice. Who is told, and that the card is coming, is said from
        # the messages saved with the case, not from what the policy says should happen; in
        # the same message as the case's id (one message, one request to Teams).
        opened = f"Case {outcome.case.id} is open."
        note_saved(step.context, opened)
        pack = self._packs.get(outcome.case.board_id)
        told = being_told(outcome.notifications, outcome.case, pack, await self._people())
        await step.context.send_activity(
            MessageFactory.text(f"{opened} {told}" if told else opened)
        )
        return await step.end_dialog(outcome.case.id)

    async def _fix(
        self, step: WaterfallStepContext, answers: dict[str, Any], field: str, reason: str
    ) -> DialogTurnResult:
        await step.context.send_activity(MessageFactory.text(reason))
        return await step.replace_dialog("change", {"answers": answers, "field": field})

    # -- change: one answer asked again, then back to the summary -----------------------------

    async def which(self, step: WaterfallStepContext) -> DialogTurnResult:
        options: dict[str, Any] = dict(step.options or {})
        answers: dict[str, Any] = options["answers"]
        step.values["answers"] = answers
        if options.get("field"):
            return await step.next(options["field"])
        choices = [(f, self._words(TYPED[f][1], answers)) for f in self._typed_fields(answers)]
        return await step.prompt(
            "pick",
            card_choice_options(
                "Which answer do you want to change? Your other answers are kept; 'cancel' "
                "saves nothing.",
                "pick.change",
                [*choices, (UNCHANGED_ID, UNCHANGED), (CANCEL_ID, CANCEL)],
            ),
        )

    async def ask_again(self, step: WaterfallStepContext) -> DialogTurnResult:
        chosen = step.result
        if isinstance(chosen, FoundChoice):  # asked by label in an earlier release
            old = {UNCHANGED: UNCHANGED_ID, **step.values.get("choices", {})}
            chosen = old.get(chosen.value, CANCEL_ID)
        if chosen == UNCHANGED_ID:  # e.g. after a refusal that someone else has put right
            return await step.replace_dialog("review", step.values["answers"])
        if chosen not in TYPED:
            await step.context.send_activity("Cancelled. Nothing was saved.")
            return await step.end_dialog()
        step.values["field"] = str(chosen)
        return await self._ask_typed(step, str(chosen), step.values["answers"])

    async def changed(self, step: WaterfallStepContext) -> DialogTurnResult:
        answers: dict[str, Any] = step.values["answers"]
        field: str = step.values["field"]
        answers[field] = self._checked_or_raw(field, step.result, answers)
        return await step.replace_dialog("review", answers)
