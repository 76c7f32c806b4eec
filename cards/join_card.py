"""The cards of a request to join an agency: the one an approver decides on, what replaces it once
clicked, and the decision the person who asked is sent.

What the person typed or Teams calls them (their name) and an approver's reason go into
`TextRun`s, never markdown. The actions carry the request's id and the verb only; the bot loads
the request and checks who clicked.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards.elements import (
    Json,
    card,
    container,
    execute,
    facts,
    heading,
    labelled,
    show_card,
    text,
    text_input,
)
from escalation.joining import MAX_REASON, JoinRequest

APPROVE_JOIN = "join_approve"
DECLINE_JOIN = "join_decline"
JOIN_VERBS = (APPROVE_JOIN, DECLINE_JOIN)
REASON_INPUT = "join.reason"


def _roles(roles: frozenset[str]) -> str:
    return ", ".join(sorted(r.replace("_", " ") for r in roles)) or "no role"


def join_request_card(
    request: JoinRequest,
    *,
    agency_name: str,
    manager_name: str | None,
    previous_agency_name: str | None,
    same_name: Sequence[str] = (),
) -> Json:
    """The card an approver decides on: who asks, for what, from where, and what to check."""
    data = {"request_id": request.id}
    body: list[Json] = [
        heading(f"Request to join {agency_name}"),
        labelled("Name", request.name),
        facts(
            [
                ("Request", request.id),
                ("Asks to be", _roles(request.roles)),
                ("Line manager", manager_name or "none named"),
                ("Signed in from tenant", request.tenant_id),
                (
                    "Until now",
                    f"{_roles(request.previous_roles)} at {previous_agency_name}"
                    if previous_agency_name
                    else "not in the directory",
                ),
            ]
        ),
        text(
            f"Approve only if you know this person works at {agency_name}"
            + (" and reports to you" if manager_name else "")
            + ". A name in Teams proves nothing: approving gives them the roles above, and "
            "with them cases about adults at risk."
        ),
    ]
    if same_name:
        body.append(
            container(
                [
                    text(
                        f"The directory already has someone of this name at {agency_name}. "
                        "Check this is not someone using their name:",
                        weight="bolder",
                    ),
                    *(labelled("Already listed", label) for label in same_name),
                ],
                style="warning",
            )
        )
    actions = [
        execute("Approve", APPROVE_JOIN, data, style="positive"),
        show_card(
            "Decline",
            [
                text_input(
                    REASON_INPUT,
                    "Why you decline it (they are told)",
                    required=True,
                    max_length=MAX_REASON,
                )
            ],
            [execute("Decline", DECLINE_JOIN, data, style="destructive")],
        ),
    ]
    summary = f"Request {request.id} to join {agency_name}"
    return card(body, fallback_text=summary, speak=summary, actions=actions)


def join_decided_card(request: JoinRequest, *, agency_name: str) -> Json:
    """What replaces the approval card for the approver once they decided."""
    if request.reason is None:
        message = (
            f"Approved: {request.name} is now {_roles(request.roles)} at {agency_name}. "
            "They are told."
        )
    else:
        message = f"Declined: {request.name} holds no role at {agency_name}. They are told why."
    body = [heading(f"Request {request.id}"), text(message)]
    if request.reason is not None:
        body.append(labelled("Reason", request.reason))
    return card(body, fallback_text=message, speak=message)


def join_refused_card(reason: str) -> Json:
    """Nothing changed, and why (the request was decided already, or not theirs to decide)."""
    notice = f"Nothing changed: {reason}"
    return card([heading("Nothing changed"), text(notice)], fallback_text=notice, speak=notice)


def join_result_card(request: JoinRequest, *, agency_name: str, decided_by: str) -> Json:
    """The decision, sent to the person who asked."""
    if request.reason is None:
        message = (
            f"Your request {request.id} to join {agency_name} is approved by {decided_by}: you "
            f"are {_roles(request.roles)} there. Type 'raise' to raise a disagreement, or "
            "'cases' to see yours."
        )
        body = [heading("Your request is approved"), text(message)]
    else:
        message = (
            f"Your request {request.id} to join {agency_name} is declined by {decided_by}. You "
            "hold no role there. Type 'profile' to ask again, or talk to them."
        )
        body = [heading("Your request is declined"), text(message), labelled("Why", request.reason)]
    return card(body, fallback_text=message, speak=message)
