"""`escalation audit verify`, `purge` and `case export` on stored cases (both engines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from bootstrap.build import open_storage
from escalation.access_log import AccessEntry, Seen
from escalation.commands import ApproveOutcome, CloseCase, ConfirmOutcome
from escalation.directory import StaticDirectory
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from storage.backup import backed_up_tables
from storage.bot_state import TableStorage, escape_key
from storage.cases import event_row
from storage.purge import retention_ends
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import TableNotFound
from testkit.azurite import DEV_ACCOUNT, connection_string
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import RecordingNotifier
from testkit.people import make_directory
from tests.integration.harness import run_cli, with_storage

T = TypeVar("T")

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "directory.yaml"


async def make_cases(settings: StorageSettings) -> dict[str, str]:
    """An open case and a case closed on 1 December 2026; returns their ids."""

    async def work(storage: Storage) -> dict[str, str]:
        clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        service = EscalationService(
            packs=PackRegistry.from_directory(POLICIES),
            repository=storage.cases,
            directory=StaticDirectory(make_directory()),
            notifier=RecordingNotifier(),
            now=clock,
        )
        open_id = (await service.execute(redbridge_raise())).case.id
        closed_id = (await service.execute(redbridge_raise(adult_reference="ASC-2"))).case.id
        await service.execute(discussion("amara", closed_id, clock.now, "resolved"))
        await service.execute(ConfirmOutcome(actor_id="noah", case_id=closed_id, outcome="Visit"))
        await service.execute(ApproveOutcome(actor_id="amara", case_id=closed_id))
        await service.execute(CloseCase(actor_id="amara", case_id=closed_id, summary="Resolved"))
        return {"open": open_id, "closed": closed_id}

    return await with_storage(settings, work)


async def test_audit_verify_passes_on_untouched_cases(settings: StorageSettings) -> None:
    await make_cases(settings)
    code, out, _ = await run_cli(settings, "audit", "verify")
    assert code == 0
    assert out.splitlines()[-1].startswith("audit: 2 case(s), ") and out.endswith(
        "every chain verifies\n"
    )


async def test_audit_verify_finds_an_edited_event(settings: StorageSettings) -> None:
    ids = await make_cases(settings)

    async def tamper(storage: Storage) -> None:
        row = await storage.store.get(storage.tables.cases, ids["closed"], event_row(1))
        assert row is not None
        entity = dict(row.entity)
        data = json.loads(entity["data_0"])
        data["immediate_risk"] = True  # someone rewrites history
        entity["data_0"] = json.dumps(data)
        await storage.store.update(storage.tables.cases, entity, row.etag)

    await with_storage(settings, tamper)
    code, out, _ = await run_cli(settings, "audit", "verify")
    assert code == 1
    assert f"BROKEN {ids['closed']} event 1: content changed after it was written" in out
    assert ids["open"] not in out


async def test_audit_verify_finds_a_removed_event(settings: StorageSettings) -> None:
    ids = await make_cases(settings)

    async def remove(storage: Storage) -> None:
        await storage.store.delete(storage.tables.cases, ids["open"], event_row(2))

    await with_storage(settings, remove)
    code, out, _ = await run_cli(settings, "audit", "verify")
    assert code == 1
    assert f"BROKEN {ids['open']} event 3: out of order: expected event 2" in out
    assert f"{ids['open']}: state row is version" in out


async def test_purge_removes_only_closed_cases_past_retention(settings: StorageSettings) -> None:
    ids = await make_cases(settings)
    # Redbridge keeps closed cases 7 years: still kept on 30 November 2033.
    code, out, _ = await run_cli(settings, "purge", "--now", "2033-11-30T12:00:00+00:00")
    assert (code, out) == (
        0,
        "dialog state: 0 conversation(s) idle since before 2033-10-31 removed\n"
        "purge: 0 closed case(s) removed\n",
    )

    code, out, _ = await run_cli(
        settings, "purge", "--dry-run", "--now", "2033-12-02T12:00:00+00:00"
    )
    assert code == 0
    assert (
        f"would remove {ids['closed']} (redbridge, closed 2026-12-01, retention 7 years ended 2033-12-01)"
        in out
    )
    assert ids["open"] not in out
    assert (await run_cli(settings, "audit", "verify"))[1].startswith("audit: 2 case(s)")

    code, out, _ = await run_cli(settings, "purge", "--now", "2033-12-02T12:00:00+00:00")
    assert f"removed {ids['closed']} (redbridge, closed 2026-12-01" in out and "rows)" in out
    assert out.endswith("purge: 1 closed case(s) removed\n")

    async def check(storage: Storage) -> None:
        assert await storage.cases.load(ids["closed"]) is None
        assert await storage.cases.load(ids["open"]) is not None
        assert await storage.cases.case_ids("redbridge") == [ids["open"]]

    await with_storage(settings, check)
    assert (await run_cli(settings, "audit", "verify"))[1].startswith("audit: 1 case(s)")


async def every_row(settings: StorageSettings) -> list[str]:
    """Every row of every table the store holds, as text."""

    async def work(storage: Storage) -> list[str]:
        names = [*backed_up_tables(storage.tables), storage.tables.leases]
        rows: list[str] = []
        for table in names:
            try:
                found = await storage.store.query_range(table, None, None)
            except TableNotFound:
                continue
            rows += [f"{table}: {json.dumps(r.entity, default=str)}" for r in found]
        return rows

    return await with_storage(settings, work)


async def write_dialog_state(settings: StorageSettings, key: str, at: datetime) -> None:
    async def work(storage: Storage) -> None:
        state = TableStorage(storage.store, storage.tables.bot_state, now=lambda: at)
        await state.write({key: {"dialogs": {"aim": "A joint visit within a week"}}})

    await with_storage(settings, work)


async def test_purge_leaves_no_row_anywhere_that_names_the_case(settings: StorageSettings) -> None:
    ids = await make_cases(settings)
    await run_cli(settings, "sweep", "--now", "2026-12-03T09:30:00+00:00")  # nudges, leases

    async def seen(storage: Storage) -> None:  # someone looked at each case
        for case_id in ids.values():
            at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
            await storage.access_log.record(AccessEntry(case_id, "lena", Seen.CASE, at, "full"))

    await with_storage(settings, seen)
    before = [r for r in await every_row(settings) if ids["closed"] in r]
    assert {r.split(":")[0].removeprefix(settings.table_prefix) for r in before} >= {
        "Cases",
        "CaseIndex",
        "PersonCases",
        "DueIndex",
        "CaseAccess",
    }
    code, out, _ = await run_cli(settings, "purge", "--now", "2033-12-02T12:00:00+00:00")
    assert code == 0 and f"removed {ids['closed']}" in out
    after = await every_row(settings)
    assert [r for r in after if ids["closed"] in r] == []
    still = {r.split(":")[0].removeprefix(settings.table_prefix) for r in after if ids["open"] in r}
    assert {"Cases", "CaseIndex", "PersonCases", "DueIndex", "CaseAccess"} <= still


async def test_purge_removes_idle_dialog_state_and_keeps_fresh_state(
    settings: StorageSettings,
) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    idle, fresh = "msteams/conversations/a:idle/", "msteams/conversations/a:fresh/"
    await write_dialog_state(settings, idle, now - timedelta(days=31))
    await write_dialog_state(settings, fresh, now - timedelta(days=29))

    code, out, _ = await run_cli(settings, "purge", "--dry-run", "--now", now.isoformat())
    assert code == 0
    assert "dialog state: 1 conversation(s) idle since before 2026-11-02 would be removed" in out
    assert sum(escape_key(idle) in r for r in await every_row(settings)) == 1

    code, out, _ = await run_cli(settings, "purge", "--now", now.isoformat())
    assert code == 0
    assert "dialog state: 1 conversation(s) idle since before 2026-11-02 removed\n" in out
    assert "joint visit" not in out and "a:idle" not in out  # counts, never content
    rows = await every_row(settings)
    assert not any(escape_key(idle) in r for r in rows)
    assert sum(escape_key(fresh) in r for r in rows) == 1

    # A longer idle period keeps it; a shorter one (or none) is refused before anything runs.
    later = (now + timedelta(days=5)).isoformat()
    code, out, _ = await run_cli(settings, "purge", "--idle-days", "60", "--now", later)
    assert code == 0 and "dialog state: 0 conversation(s) idle since before 2026-10-08" in out
    code, out, _ = await run_cli(settings, "purge", "--idle-days", "7", "--now", later)
    assert code == 0 and "dialog state: 1 conversation(s)" in out
    assert not any(escape_key(fresh) in r for r in await every_row(settings))
    code, _, err = await run_cli(settings, "purge", "--idle-days", "0")
    assert code == 2 and "--idle-days" in err and "at least 1" in err


async def test_export_writes_the_case_record(settings: StorageSettings, tmp_path: Path) -> None:
    ids = await make_cases(settings)
    code, out, _ = await run_cli(settings, "case", "export", ids["closed"])
    assert code == 0
    assert ids["closed"] in out and "ASC-2" in out
    target = tmp_path / "record.md"
    code, out, _ = await run_cli(settings, "case", "export", ids["closed"], "--out", str(target))
    assert code == 0 and out == f"wrote {target}\n"
    assert ids["closed"] in target.read_text(encoding="utf-8")
    code, _, err = await run_cli(settings, "case", "export", "RB-2026-NONE")
    assert code == 2 and err == "error: there is no case RB-2026-NONE\n"
    unwritable = tmp_path / "no-such-folder" / "record.md"
    code, out, err = await run_cli(
        settings, "case", "export", ids["closed"], "--out", str(unwritable)
    )
    assert (code, out) == (2, "")
    assert err == f"error: cannot write {unwritable}: No such file or directory\n"


def test_retention_from_29_february() -> None:
    assert retention_ends(datetime(2028, 2, 29, tzinfo=UTC), 7) == datetime(2035, 2, 28, tzinfo=UTC)


async def test_directory_import_then_export_names_people(
    settings: StorageSettings, tmp_path: Path
) -> None:
    sample = SAMPLE
    code, out, _ = await run_cli(settings, "directory", "import", str(sample))
    assert code == 0 and out.startswith("directory: ") and "people and 15 agencies imported" in out
    assert "list no Teams tenant" not in out  # every sample agency with people is on Teams
    broken = tmp_path / "broken.yaml"
    broken.write_text("people:\n  - {id: x, name: X, agency: nelft, line_manager: nobody}\n")
    code, _, err = await run_cli(settings, "directory", "import", str(broken))
    assert code == 2 and "nobody" in err


async def test_export_uses_the_stored_directory_for_names(settings: StorageSettings) -> None:
    async def seed(storage: Storage) -> None:
        await storage.directory.import_records(
            [{"id": "noah", "name": "Noah Okafor", "agency": "nelft"}]
        )

    await with_storage(settings, seed)
    ids = await make_cases(settings)
    # Noah confirmed the outcome of the closed case: the chronology names him.
    code, out, _ = await run_cli(settings, "case", "export", ids["closed"])
    assert code == 0 and "Noah Okafor" in out


async def test_sweep_by_hand_queues_each_nudge_once(settings: StorageSettings) -> None:
    await make_cases(settings)  # the open case's 'respond' clock falls due Fri 4 Dec 17:00
    code, out, _ = await run_cli(settings, "sweep", "--now", "2026-12-03T09:30:00+00:00")
    assert code == 0 and "0 already queued" in out
    assert "stale index row(s) removed" in out  # the closed case's clocks stopped
    queued = int(out.split(", ")[1].split()[0])
    assert queued >= 1  # the early warnings
    code, again, _ = await run_cli(settings, "sweep", "--now", "2026-12-03T10:30:00+00:00")
    assert "0 nudge(s) queued" in again and f"{queued} already queued" in again


async def test_backup_then_restore_into_an_empty_store(
    settings: StorageSettings, tmp_path: Path
) -> None:
    ids = await make_cases(settings)
    saved = tmp_path / "backup.jsonl"
    code, out, _ = await run_cli(settings, "backup", str(saved))
    assert code == 0 and out.startswith("backup: ") and str(saved) in out
    # A new, empty store (another prefix, or another folder): the restored one.
    fresh = StorageSettings(
        settings.connection_string, tmp_path / "restored", table_prefix=f"t{uuid.uuid4().hex[:10]}"
    )
    code, out, _ = await run_cli(fresh, "restore", str(saved))
    assert code == 0 and "run `escalation audit verify` next" in out
    code, out, _ = await run_cli(fresh, "audit", "verify")
    assert code == 0 and out.startswith("audit: 2 case(s)")

    async def same(original: Storage) -> None:
        restored = await open_storage(fresh)
        try:
            for case_id in ids.values():
                assert await restored.cases.load(case_id) == await original.cases.load(case_id)
            assert (await restored.directory.snapshot()).people.keys() == (
                await original.directory.snapshot()
            ).people.keys()
        finally:
            await restored.close()

    await with_storage(settings, same)
    # Restoring over live cases is refused unless asked for.
    code, _, err = await run_cli(fresh, "restore", str(saved))
    assert code == 2 and "already holds cases" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"table": "Cases"}\n')
    empty = StorageSettings(
        settings.connection_string, tmp_path / "empty", table_prefix=f"t{uuid.uuid4().hex[:10]}"
    )
    code, _, err = await run_cli(empty, "restore", str(broken))
    assert code == 2 and "line 1" in err


# -- no traceback, whatever the arguments or the storage ------------------------------------------

ESCALATION = Path(sys.executable).with_name("escalation")
UNREACHABLE_AZURE = connection_string(1)  # nothing listens on port 1
STORAGE_ENV = (
    "STORAGE_CONNECTION_STRING",
    "STORAGE_TABLE_ENDPOINT",
    "ESCALATION_TABLE_PREFIX",
    "ESCALATION_POLICY_DIR",
    "AZURE_CLIENT_ID",
)


def script(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an administrator runs it, on a store of its own."""
    environ = {k: v for k, v in os.environ.items() if k not in STORAGE_ENV}
    environ["ESCALATION_DATA_DIR"] = str(tmp_path / "data")
    environ.update(env)
    return subprocess.run(
        [str(ESCALATION), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ,
        cwd=tmp_path,
    )


NOW = "2026-12-03T09:30:00+00:00"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param(
            ["sweep", "--now", "yesterday"],
            {},
            "error: --now 'yesterday' is not an ISO 8601 date-time "
            "(e.g. 2026-12-03T09:30:00+00:00)",
            id="sweep-now-not-a-date",
        ),
        pytest.param(
            ["sweep", "--now", "2026-12-03T09:30"],
            {},
            "error: --now '2026-12-03T09:30' needs a UTC offset (e.g. +00:00 or Z)",
            id="sweep-now-naive",
        ),
        pytest.param(
            ["purge", "--now", "9999-12-31T00:00:00+00:00"],
            {},
            "error: --now '9999-12-31T00:00:00+00:00' is outside the years 1900 to 2999",
            id="purge-now-out-of-range",
        ),
        pytest.param(
            ["purge", "--board", "camden", "--now", NOW],
            {},
            "error: no policy pack for board 'camden' (loaded: cumbria, harrow, lincolnshire, redbridge, south-ayrshire)",
            id="purge-unknown-board",
        ),
        pytest.param(
            ["audit", "verify", "--board", "camden"],
            {},
            "error: no policy pack for board 'camden' (loaded: cumbria, harrow, lincolnshire, redbridge, south-ayrshire)",
            id="audit-unknown-board",
        ),
        pytest.param(
            ["--policy-dir", "/nonexistent-policies", "sweep"],
            {},
            "error: /nonexistent-policies: no such folder of policy packs",
            id="missing-policy-dir",
        ),
        pytest.param(
            ["case", "export", "RB-2026-NONE"],
            {},
            "error: there is no case RB-2026-NONE",
            id="unknown-case",
        ),
        pytest.param(
            ["backup", "/nonexistent-folder/backup.jsonl"],
            {},
            "error: cannot write /nonexistent-folder/backup.jsonl: No such file or directory",
            id="backup-unwritable",
        ),
        pytest.param(
            ["restore", "/nonexistent-folder/backup.jsonl"],
            {},
            "error: cannot read /nonexistent-folder/backup.jsonl: No such file or directory",
            id="restore-unreadable",
        ),
        pytest.param(
            ["directory", "import", "/nonexistent-folder/people.yaml"],
            {},
            "error: /nonexistent-folder/people.yaml: no such file",
            id="directory-unreadable",
        ),
        pytest.param(
            ["report", "--policy", "camden", "--from", "2026-01-01", "--to", "2026-02-01"],
            {},
            "no pack named 'camden'",
            id="report-unknown-board",
        ),
        pytest.param(
            ["report", "--policy", "redbridge", "--from", "2026-13-01", "--to", "2026-02-01"],
            {},
            "invalid fromisoformat value: '2026-13-01'",
            id="report-bad-date",
        ),
        pytest.param(
            ["audit", "verify"],
            {"ESCALATION_TABLE_PREFIX": "9bad"},
            "error: storage settings: ESCALATION_TABLE_PREFIX must be letters and digits",
            id="bad-table-prefix",
        ),
        pytest.param(
            ["audit", "verify"],
            {"STORAGE_CONNECTION_STRING": "not a connection string"},
            "error: storage settings: Connection string is either blank or malformed.",
            id="malformed-connection-string",
        ),
        pytest.param(
            ["sweep", "--now", NOW],
            {"STORAGE_CONNECTION_STRING": UNREACHABLE_AZURE},
            f"error: cannot reach Azure Table Storage (account {DEV_ACCOUNT}): Azure Table "
            "Storage is unreachable",
            id="azure-unreachable",
        ),
        pytest.param(
            ["report", "--policy", "redbridge", "--from", "2026-01-01", "--to", "2026-02-01"],
            {"STORAGE_CONNECTION_STRING": UNREACHABLE_AZURE},
            f"error: cannot reach Azure Table Storage (account {DEV_ACCOUNT}): Azure Table "
            "Storage is unreachable",
            id="report-azure-unreachable",
        ),
    ],
)
def test_a_bad_argument_or_store_is_one_message_and_exit_2(
    tmp_path: Path, argv: list[str], env: dict[str, str], message: str
) -> None:
    done = script(tmp_path, *argv, **env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert message in done.stderr
    # One message, and no client left open behind it ("Unclosed client session").
    assert done.stderr.startswith(("error: ", "usage: ")), done.stderr
    assert "Unclosed" not in done.stderr


def test_a_data_folder_that_is_a_file_is_one_message_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    for argv in (["audit", "verify"], ["report", "--policy", "redbridge"]):
        if argv[0] == "report":
            argv += ["--from", "2026-01-01", "--to", "2026-02-01", "--format", "md"]
        done = script(tmp_path, *argv, ESCALATION_DATA_DIR=str(blocker))
        assert "Traceback" not in done.stderr
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: cannot reach embedded SQLite store in {blocker}")
        assert done.stderr.count("\n") == 1


async def test_an_export_is_a_view_the_access_log_lists(settings: StorageSettings) -> None:
    ids = await make_cases(settings)
    code, out, _ = await run_cli(settings, "case", "access-log", ids["open"])
    assert code == 0 and out == f"{ids['open']}: no view has been recorded\n"
    code, exported, _ = await run_cli(settings, "case", "export", ids["open"])
    assert code == 0 and "cli:" in exported  # the record lists its own export
    code, out, _ = await run_cli(settings, "case", "access-log", ids["open"])
    [line] = out.splitlines()
    assert code == 0 and "cli:" in line and line.endswith("export, full view")
    code, _, err = await run_cli(settings, "case", "access-log", "RB-2026-NONE")
    assert code == 2 and "there is no case RB-2026-NONE" in err
