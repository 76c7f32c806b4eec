"""Who has seen a case, from the command line's side: the access-log listing and the export
(both engines)."""

from __future__ import annotations

import argparse
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin.case_access import (
    add_access_log_command,
    cli_user,
    exported_record,
    is_access_log,
    print_access_log,
)
from admin.errors import CliError
from bootstrap.build import open_storage
from escalation.access_log import AccessEntry, Seen
from escalation.directory import StaticDirectory
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import StorageUnavailable
from testkit.builders import redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import RecordingNotifier
from testkit.people import make_directory

POLICIES = Path(__file__).resolve().parents[2] / "policies"
EXPORTED_AT = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
async def storage(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Storage]:
    connection = request.getfixturevalue("azurite_connection_string") if engine == "azure" else None
    settings = StorageSettings(
        connection, tmp_path / "data", table_prefix=f"t{uuid.uuid4().hex[:10]}"
    )
    opened = await open_storage(settings)
    await opened.directory.import_records(
        [
            {"id": p.id, "name": p.name, "agency": p.agency_id}
            for p in make_directory().people.values()
        ]
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def packs() -> PackRegistry:
    return PackRegistry.from_directory(POLICIES)


async def a_case(storage: Storage, packs: PackRegistry) -> str:
    service = EscalationService(
        packs=packs,
        repository=storage.cases,
        directory=StaticDirectory(make_directory()),
        notifier=RecordingNotifier(),
        now=FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
    )
    return (await service.execute(redbridge_raise())).case.id


async def test_the_access_log_lists_each_view_on_a_line_in_uk_local_time(
    storage: Storage, packs: PackRegistry
) -> None:
    case_id = await a_case(storage, packs)
    out = io.StringIO()
    await print_access_log(storage, packs, case_id, out)
    assert out.getvalue() == f"{case_id}: no view has been recorded\n"
    await storage.access_log.record(
        AccessEntry(case_id, "noah", Seen.CARD, datetime(2026, 12, 1, 10, 1, tzinfo=UTC), "full")
    )
    await storage.access_log.record(
        AccessEntry(case_id, "rb-bm", Seen.CASE, datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "copy")
    )
    out = io.StringIO()
    assert await print_access_log(storage, packs, case_id, out) == 0
    assert out.getvalue().splitlines() == [
        "Tue 01 Dec 2026 10:01 GMT  Noah (noah)  card, full view",
        "Wed 02 Dec 2026 09:00 GMT  Rb Bm (rb-bm)  case, copy view",
    ]
    with pytest.raises(CliError, match="there is no case RB-2026-NONE"):
        await print_access_log(storage, packs, "RB-2026-NONE", io.StringIO())


async def test_an_export_is_logged_and_lists_who_has_seen_the_case_itself_included(
    storage: Storage, packs: PackRegistry
) -> None:
    case_id = await a_case(storage, packs)
    await storage.access_log.record(
        AccessEntry(case_id, "noah", Seen.CARD, datetime(2026, 12, 1, 10, 1, tzinfo=UTC), "full")
    )
    text = await exported_record(storage, packs, case_id, who="cli:jo", now=EXPORTED_AT)
    part = text[text.index("## Who has seen this case") : text.index("## Integrity")]
    assert "| Tue 01 Dec 2026 10:01 GMT | Noah | card | full view |" in part
    assert "| Fri 04 Dec 2026 15:30 GMT | cli:jo | export | full view |" in part
    [logged] = [e for e in await storage.access_log.entries(case_id) if e.what == Seen.EXPORT]
    assert (logged.who, logged.at) == ("cli:jo", EXPORTED_AT)
    with pytest.raises(CliError, match="there is no case"):
        await exported_record(storage, packs, "RB-2026-NONE", who="cli:jo", now=EXPORTED_AT)


async def test_an_export_still_comes_out_when_the_log_cannot_be_written(
    storage: Storage, packs: PackRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = await a_case(storage, packs)

    async def broken(entry: AccessEntry) -> None:
        raise StorageUnavailable("the log is down")

    monkeypatch.setattr(storage.access_log, "record", broken)
    text = await exported_record(storage, packs, case_id, who="cli:jo", now=EXPORTED_AT)
    assert text.startswith(f"# Case record {case_id}:")
    assert "No view of this case has been recorded." in text


def test_the_subcommand_parses_beside_export_and_names_the_user() -> None:
    parser = argparse.ArgumentParser(prog="escalation")
    commands = parser.add_subparsers(dest="command")
    case = commands.add_parser("case")
    actions = case.add_subparsers(dest="case_command")
    actions.add_parser("export").add_argument("case_id")
    add_access_log_command(actions)
    args = parser.parse_args(["case", "access-log", "RB-2026-K7QX2M"])
    assert is_access_log(args) and args.case_id == "RB-2026-K7QX2M"
    assert not is_access_log(parser.parse_args(["case", "export", "RB-2026-K7QX2M"]))
    assert cli_user().startswith("cli:")
