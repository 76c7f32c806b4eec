"""Kill the app while it saves, or while it sends, and restart it: nothing is lost.

A worker process saves changes (or sends the outbox) and is killed with SIGKILL part-way; the
test then opens the same storage as a restarted app would, and checks what survived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from escalation.delivery import Delivery, DeliveryResult
from escalation.events import verify_chain
from escalation.notifications import Notification
from storage.outbox import DeliveryStatus, dispatch_once
from storage.settings import CONNECTION_STRING_ENV, DATA_DIR_ENV, TABLE_PREFIX_ENV, StorageSettings
from storage.stores import Storage
from tests.integration.harness import with_storage

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SAVES_BEFORE_KILL = 25  # about eight cases: enough to land the kill mid-save


def spawn(settings: StorageSettings, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop(CONNECTION_STRING_ENV, None)
    if settings.connection_string:
        env[CONNECTION_STRING_ENV] = settings.connection_string
    env[DATA_DIR_ENV] = str(settings.data_dir)
    env[TABLE_PREFIX_ENV] = settings.table_prefix
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(
    worker: subprocess.Popen[str], lines: int, prefix: str, timeout: float = 60
) -> list[str]:
    """Read the worker's lines until `lines` start with `prefix`, then SIGKILL it."""
    seen: list[str] = []
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    assert worker.stdout is not None
    while sum(1 for s in seen if s.startswith(prefix)) < lines:
        line = worker.stdout.readline()
        if not line:
            stderr = worker.stderr.read() if worker.stderr else ""
            raise AssertionError(f"worker ended early: {stderr[-2000:]}")
        seen.append(line.strip())
        assert datetime.now(UTC) < deadline, "worker too slow"
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=10)  # reap it and close its pipes
    return seen


async def test_a_kill_while_saving_loses_no_saved_change_and_no_message(
    settings: StorageSettings,
) -> None:
    lines = await asyncio.to_thread(
        kill_after, spawn(settings, "work"), SAVES_BEFORE_KILL, "saved "
    )
    saved: dict[str, int] = {}
    messages: dict[str, list[str]] = {}
    for line in lines:
        _, case_id, version, keys = line.split()
        saved[case_id] = max(saved.get(case_id, 0), int(version))
        messages.setdefault(case_id, []).extend(keys.split(","))

    async def check(storage: Storage) -> None:
        known = set(await storage.cases.case_ids("redbridge"))
        assert set(saved) <= known  # every saved case can be found through the index
        for case_id in known:
            stored = await storage.cases.load(case_id)
            if stored is None:
                continue  # the kill came between the index hint and the transaction
            assert verify_chain(case_id, stored.events) == []
            assert stored.version >= saved.get(case_id, 0)  # nothing saved was lost
            summary = await storage.cases.summary(case_id)
            assert summary is not None and summary.version == stored.version
            # Every message a saved change asked for is in the outbox...
            for key in messages.get(case_id, []):
                assert await storage.outbox.message(case_id, key) is not None, key
            # ...and no message is there without the change that caused it.
            rows = await storage.store.query_partition(
                storage.tables.cases, case_id, rk_from="outbox-", rk_to="outbox-~"
            )
            assert all(int(r.entity["event_seq"]) <= stored.version for r in rows)

    await with_storage(settings, check)


async def test_a_kill_while_sending_loses_no_message_and_sends_none_twice_but_the_one_in_flight(
    settings: StorageSettings, tmp_path: Path
) -> None:
    await asyncio.to_thread(
        kill_after, spawn(settings, "work", "6"), 18, "saved "
    )  # six cases, fully saved
    channel = tmp_path / "channel.log"
    await asyncio.to_thread(kill_after, spawn(settings, "dispatch", str(channel)), 3, "dispatched ")

    async def restart_and_finish(storage: Storage) -> list[str]:
        keys: list[str] = []
        for case_id in await storage.cases.case_ids("redbridge"):
            for row in await storage.store.query_partition(
                storage.tables.cases, case_id, rk_from="outbox-", rk_to="outbox-~"
            ):
                keys.append(str(row.entity["key"]))

        async def send(notification: Notification) -> Delivery:
            with channel.open("a") as f:
                f.write(notification.key + "\n")
            return Delivery(DeliveryResult.SENT)

        # The restarted app waits out the dead instance's lease, then sends the rest.
        later = datetime(2026, 12, 2, 10, 0, tzinfo=UTC) + timedelta(hours=1)
        while (await dispatch_once(storage.outbox, send, later)).sent:
            pass
        for key in keys:
            item = await storage.outbox.message(key.split(":", 1)[0], key)
            assert item is not None and item.status == DeliveryStatus.SENT, key
        return keys

    keys = await with_storage(settings, restart_and_finish)
    delivered = Counter(channel.read_text().split())
    assert set(delivered) == set(keys)  # nothing lost
    twice = [k for k, n in delivered.items() if n > 1]
    # Only a message the channel accepted in the instant before the kill, not yet marked sent,
    # can go out again: the Bot Connector has no idempotent send.
    assert len(twice) <= 1, twice
