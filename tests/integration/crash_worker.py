"""A process for the crash tests: works cases or dispatches the outbox until it is killed.

    python -m tests.integration.crash_worker work       raise and advance cases, print each save
    python -m tests.integration.crash_worker dispatch   send the outbox to a file-backed channel

Storage comes from the usual settings (STORAGE_CONNECTION_STRING, ESCALATION_DATA_DIR,
ESCALATION_TABLE_PREFIX). Every line printed is flushed before the next step, so the parent
knows exactly what was saved before it killed this process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bootstrap.build import open_storage
from escalation.commands import Escalate
from escalation.delivery import Delivery, DeliveryResult
from escalation.directory import StaticDirectory
from escalation.notifications import Notification
from escalation.packs import PackRegistry
from escalation.service import EscalationService, Outcome
from storage.outbox import dispatch_once
from storage.settings import StorageSettings
from testkit.builders import discussion, redbridge_raise
from testkit.fakes import RecordingNotifier
from testkit.people import make_directory

POLICIES = Path(__file__).resolve().parents[2] / "policies"
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def saved(out: Outcome) -> str:
    keys = ",".join(n.key for n in out.notifications)
    return f"saved {out.case.id} {out.case.version} {keys}"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def work(limit: int) -> None:
    storage = await open_storage(StorageSettings.from_env())
    moment = START

    def now() -> datetime:
        return moment

    service = EscalationService(
        packs=PackRegistry.from_directory(POLICIES),
        repository=storage.cases,
        directory=StaticDirectory(make_directory()),
        notifier=RecordingNotifier(),
        now=now,
    )
    for _ in range(limit):
        moment += timedelta(seconds=1)
        out = await service.execute(redbridge_raise())
        say(saved(out))
        moment += timedelta(seconds=1)
        out = await service.execute(discussion("noah", out.case.id, moment, "not_resolved"))
        say(saved(out))
        out = await service.execute(
            Escalate(actor_id="amara", case_id=out.case.id, reason="No agreement")
        )
        say(saved(out))


async def dispatch(channel_file: Path) -> None:
    storage = await open_storage(StorageSettings.from_env())
    # O_APPEND writes of whole lines: what the channel accepted survives the kill.
    fd = os.open(channel_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def send(notification: Notification) -> Delivery:
        os.write(fd, (notification.key + "\n").encode())
        return Delivery(DeliveryResult.SENT)

    while True:
        report = await dispatch_once(storage.outbox, send, START + timedelta(days=1), limit=5)
        say(f"dispatched {len(report.sent)}")
        if not report.sent:
            say("idle")
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1] == "work":
        asyncio.run(work(int(sys.argv[2]) if len(sys.argv) > 2 else 10_000))
    else:
        asyncio.run(dispatch(Path(sys.argv[2])))
