"""Who is speaking to the bot.

A person in Teams is the Microsoft Entra tenant they signed in from and their object id there
(`from.aadObjectId`), as the Bot Framework token vouches for them: the HTTP edge checks the token
(with an app id) and that the activity's two tenant fields agree (bot.activity_shape). The Teams
user id (`from.id`) stands in only where an activity carries no object id (local use). A display
name is a label, never a key.

A directory entry found by those ids may act only when it is active (escalation.joining) and its
agency lists the tenant the activity comes from; otherwise the person is treated as unknown, and
told why and what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from botbuilder.schema import Activity

from escalation.directory import Directory, Person
from escalation.joining import BoardAgencies, standing_message, who_to_ask
from storage.directory_store import DirectoryStore
from storage.join_requests import Caller

NEWCOMER_PREFIX: Final = "teams-"


@dataclass(frozen=True)
class Identity:
    tenant_id: str | None
    teams_user_id: str | None
    aad_object_id: str | None
    display_name: str
    entry: Person | None  # the directory entry these Teams ids belong to, whatever its standing
    person: Person | None  # that entry, when it may act now
    problem: str  # when `person` is None: why, and what to do next ("" otherwise)
    tenant_listed: bool  # whether the entry's agency lists the activity's tenant
    can_join: bool  # whether some agency lists the activity's tenant

    @property
    def key(self) -> str | None:
        """The id the person is known by: the object id, or the Teams user id without one."""
        return self.aad_object_id or self.teams_user_id

    @property
    def person_id(self) -> str | None:
        """The entry's id, or the id a newcomer's entry will have."""
        if self.entry is not None:
            return self.entry.id
        return f"{NEWCOMER_PREFIX}{self.key}" if self.key else None

    def caller(self) -> Caller | None:
        """The person as a request to join names them, or None without any Teams id."""
        person_id = self.person_id
        if person_id is None:
            return None
        return Caller(
            person_id=person_id,
            display_name=self.display_name,
            tenant_id=self.tenant_id,
            teams_user_id=self.teams_user_id,
            aad_object_id=self.aad_object_id,
        )


def tenant_of(activity: Activity) -> str | None:
    """The tenant the activity comes from: `channelData.tenant.id`, or `conversation.tenantId`
    (the edge has checked that they agree where both are given)."""
    channel_data = activity.channel_data
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    found = tenant.get("id") if isinstance(tenant, dict) else None
    if isinstance(found, str) and found.strip():
        return found.strip()
    conversation = activity.conversation
    from_conversation = getattr(conversation, "tenant_id", None) if conversation else None
    if isinstance(from_conversation, str) and from_conversation.strip():
        return from_conversation.strip()
    return None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


async def identify(
    activity: Activity, directory: DirectoryStore, boards: BoardAgencies
) -> Identity:
    sender = activity.from_property
    return await identify_ids(
        directory,
        boards,
        tenant=tenant_of(activity),
        teams_user_id=_text(sender.id) if sender else None,
        aad_object_id=_text(sender.aad_object_id) if sender else None,
        display_name=(_text(sender.name) if sender else None) or "",
    )


async def identify_ids(
    directory: DirectoryStore,
    boards: BoardAgencies,
    *,
    tenant: str | None,
    teams_user_id: str | None,
    aad_object_id: str | None,
    display_name: str = "",
) -> Identity:
    """The person behind a tenant and an object id (or a Teams user id without one), however
    they were vouched for: a Bot Framework activity (`identify`) or a Teams tab's Entra token
    (tabs.auth). The same entry, the same tenant check, the same standing."""
    tenant = _text(tenant)
    teams_user_id = _text(teams_user_id)
    aad_object_id = _text(aad_object_id)
    # Both from the directory's cached snapshot: no storage request on a turn's path.
    entry = await directory.speaker(teams_user_id, aad_object_id)
    snapshot = await directory.snapshot()
    listed = entry is not None and snapshot.lists_tenant(entry.agency_id, tenant)
    person: Person | None = None
    if entry is None:
        problem = unknown_message(snapshot, boards, tenant)
    elif not listed:
        problem = unlisted_tenant_message(snapshot, boards, entry)
    elif not entry.active:
        problem = standing_message(
            snapshot,
            entry,
            agency_name=boards.name(entry.agency_id),
            contacts=boards.contacts(snapshot, entry.agency_id),
            roles=boards.roles(entry.agency_id),
        )
    else:
        person, problem = entry, ""
    return Identity(
        tenant_id=tenant,
        teams_user_id=teams_user_id,
        aad_object_id=aad_object_id,
        display_name=display_name,
        entry=entry,
        person=person,
        problem=problem,
        tenant_listed=listed,
        can_join=bool(snapshot.agencies_of_tenant(tenant)),
    )


def unknown_message(directory: Directory, boards: BoardAgencies, tenant: str | None) -> str:
    contacts = who_to_ask(boards.contacts(directory))
    if tenant is None:
        return (
            "Your message does not say which Microsoft 365 organisation you signed in from, so "
            f"I cannot tell who you are. Use the bot from Teams, or ask {contacts}."
        )
    if not directory.agencies_of_tenant(tenant):
        return (
            "You are not in the board's directory, and your organisation's Microsoft 365 tenant "
            f"({tenant}) is not registered for any of the board's agencies, so I cannot act for "
            f"you. Ask {contacts} to register it for your agency."
        )
    return (
        "You are not in the board's directory yet, so I cannot act for you. Type 'profile' to "
        "ask to join your agency: your line manager or your agency's administrator approves it."
    )


def unlisted_tenant_message(directory: Directory, boards: BoardAgencies, entry: Person) -> str:
    agency = boards.name(entry.agency_id)
    contacts = who_to_ask(boards.contacts(directory, entry.agency_id))
    return (
        f"You are signed in from an organisation whose Microsoft 365 tenant is not registered "
        f"for {agency}, so I cannot act for you. Sign in with your {agency} account, or ask "
        f"{contacts} to register your organisation's tenant for {agency}."
    )
