"""Closing a case: its summary, learning points and policy gaps, and who is told."""

from __future__ import annotations

from escalation.access import CLOSE
from escalation.case import Case
from escalation.commands import CloseCase
from escalation.events import EventDraft
from escalation.rules.clocks import end_stage_clocks
from escalation.rules.context import Context, gate
from escalation.rules.text import check_text


def close(case: Case, command: CloseCase, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(CLOSE, command.actor_id, ctx.now)
    rules = ctx.pack.closure
    summary = check_text("summary", command.summary, required=True)
    learning = [check_text("learning point", p, required=False) for p in command.learning_points]
    gaps = [check_text("policy gap", g, required=False) for g in command.policy_gaps]
    drafts = end_stage_clocks(case, case.stage, ctx.now)
    drafts.append(
        EventDraft(
            "CaseClosed",
            {
                "summary": summary,
                "learning_points": [p for p in learning if p] if rules.learning_points else [],
                "policy_gaps": [g for g in gaps if g] if rules.policy_gaps else [],
                "debrief_offered": command.debrief_offered if rules.debrief_offered else False,
                "learning_route": rules.learning_route,
                "copy_business_manager": rules.copy_business_manager == "always"
                or (
                    rules.copy_business_manager == "if_copied_before"
                    and case.copied_to_business_manager
                ),
                "clauses": rules.clauses,
            },
        )
    )
    return drafts
