"""What every rule is given, and the checks every command passes before its own rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalation.access import CaseAccess, case_access
from escalation.calendar import WorkingCalendar
from escalation.case import Case
from escalation.directory import Directory, Person
from escalation.errors import RefusalCode, Refused
from escalation.joining import AgencyRoles, not_active
from escalation.policy import PolicyPack


@dataclass(frozen=True)
class Context:
    pack: PolicyPack
    calendar: WorkingCalendar
    directory: Directory
    now: datetime


# The author of what the bot records itself: windows that passed, failed deliveries.
SYSTEM = "system"


def refuse(code: RefusalCode, reason: str, *clauses: str) -> Refused:
    return Refused(code, reason, clauses=tuple(clauses))


def acting_person(ctx: Context, person_id: str) -> Person:
    person = ctx.directory.person(person_id)
    if person is None:
        raise refuse(
            RefusalCode.NOT_PERMITTED,
            "You are not in this board's directory yet: set up your profile (agency and role) "
            "first.",
        )
    require_active(ctx, person)
    return person


def require_active(ctx: Context, person: Person | None) -> None:
    """A pending or declined entry holds no authority: refused, naming who must approve it."""
    if person is None or person.active:
        return
    agency = ctx.pack.agency(person.agency_id)
    raise not_active(
        ctx.directory,
        person,
        agency_name=agency.name if agency is not None else person.agency_id,
        contacts=[
            holder
            for role in ctx.pack.joining.contact_roles
            for holder in ctx.directory.board_holders(ctx.pack.board.id, role)
        ],
        roles=AgencyRoles.of([ctx.pack]),
    )


def gate(case: Case, ctx: Context) -> CaseAccess:
    """Need to know for this case: the view, the state and who may act (escalation.access)."""
    return case_access(case, ctx.pack, ctx.directory)


def require_version(case: Case, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise refuse(
            RefusalCode.STALE,
            f"Case {case.id} has changed since you saw it (version {expected}, now "
            f"{case.version}). Look at the latest case card and try again.",
        )
