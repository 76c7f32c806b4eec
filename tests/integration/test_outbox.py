"""The outbox on both engines: sent once, retried on failure, found again after a crash."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from escalation.delivery import Delivery, DeliveryResult
from escalation.notifications import Notification
from storage.cases import TableCaseRepository
from storage.outbox import (
    PENDING_PARTITION,
    DeliveryStatus,
    TableOutbox,
    dispatch_once,
)
from testkit.builders import discussion, redbridge_raise
from testkit.round_trips import CallLog
from tests.integration.harness import Harness


def outbox_of(
    h: Harness, *, lease: timedelta = timedelta(minutes=2), max_attempts: int = 12
) -> TableOutbox:
    assert isinstance(h.repository, TableCaseRepository) and h.store is not None
    return TableOutbox(h.store, h.repository._t, lease=lease, max_attempts=max_attempts)


class Recorder:
    """A stand-in channel: records what it is given and answers as told."""

    def __init__(self, answers: list[Delivery] | None = None) -> None:
        self.sent: list[str] = []
        self.answers = answers or []

    async def __call__(self, notification: Notification) -> Delivery:
        await asyncio.sleep(0)  # a real send yields to the loop
        answer = self.answers.pop(0) if self.answers else Delivery(DeliveryResult.SENT)
        if answer.result == DeliveryResult.SENT:
            self.sent.append(notification.key)
        return answer


async def test_each_message_is_sent_once_and_then_no_more(tables: Harness) -> None:
    opened = await tables.service().execute(redbridge_raise())
    outbox, channel = outbox_of(tables), Recorder()
    now = tables.clock.now
    report = await dispatch_once(outbox, channel, now)
    assert sorted(report.sent) == sorted(n.key for n in opened.notifications)
    assert sorted(channel.sent) == sorted(report.sent)
    again = await dispatch_once(outbox, channel, now + timedelta(minutes=5))
    assert again.sent == [] and len(channel.sent) == len(opened.notifications)
    for n in opened.notifications:
        item = await outbox.message(n.case_id, n.key)
        assert item is not None and item.status == DeliveryStatus.SENT


async def test_two_dispatchers_at_once_send_each_message_once(tables: Harness) -> None:
    service = tables.service()
    case_id = (await service.execute(redbridge_raise())).case.id
    await service.execute(discussion("noah", case_id, tables.clock.now, "not_resolved"))
    expected = {i.key for i in (await outbox_of(tables).due(tables.clock.now))[0]}
    channel = Recorder()
    one, two = outbox_of(tables), outbox_of(tables)
    reports = await asyncio.gather(
        dispatch_once(one, channel, tables.clock.now), dispatch_once(two, channel, tables.clock.now)
    )
    assert len(channel.sent) == len(set(channel.sent))
    assert sorted(reports[0].sent + reports[1].sent) == sorted(channel.sent)
    assert set(channel.sent) == expected


async def test_a_429_waits_as_long_as_it_is_told_then_sends(tables: Harness) -> None:
    opened = await tables.service().execute(redbridge_raise())
    first = sorted(opened.notifications, key=lambda n: n.key)[0]
    outbox = outbox_of(tables)
    throttled = Recorder(
        [Delivery(DeliveryResult.RETRY, retry_after=timedelta(seconds=30), error="429")] * 10
    )
    now = tables.clock.now
    report = await dispatch_once(outbox, throttled, now, limit=1)
    [retried] = report.retried
    item = await outbox.message(first.case_id, retried)
    assert item is not None
    assert (item.status, item.attempts, item.next_attempt_at, item.last_error) == (
        DeliveryStatus.PENDING,
        1,
        now + timedelta(seconds=30),
        "429",
    )
    # Not before its time, then yes.
    channel = Recorder()
    early = await dispatch_once(outbox, channel, now + timedelta(seconds=29))
    assert retried not in early.sent
    late = await dispatch_once(outbox, channel, now + timedelta(seconds=31))
    assert retried in late.sent


async def test_a_sender_that_raises_is_a_failed_attempt_not_a_lost_message(tables: Harness) -> None:
    await tables.service().execute(redbridge_raise())
    outbox = outbox_of(tables)

    async def broken(_: Notification) -> Delivery:
        raise ConnectionResetError("connector went away")

    report = await dispatch_once(outbox, broken, tables.clock.now)
    assert report.sent == [] and report.retried
    later = await dispatch_once(outbox, Recorder(), tables.clock.now + timedelta(hours=1))
    assert sorted(later.sent) == sorted(report.retried)


async def test_a_permanent_failure_is_recorded_and_not_retried(tables: Harness) -> None:
    opened = await tables.service().execute(redbridge_raise())
    outbox = outbox_of(tables)
    gone = Recorder([Delivery(DeliveryResult.PERMANENT, error="user removed the app")] * 10)
    report = await dispatch_once(outbox, gone, tables.clock.now)
    assert sorted(report.failed) == sorted(n.key for n in opened.notifications)
    item = await outbox.message(opened.case.id, report.failed[0])
    assert item is not None and (item.status, item.last_error) == (
        DeliveryStatus.FAILED,
        "user removed the app",
    )
    assert (
        await dispatch_once(outbox, Recorder(), tables.clock.now + timedelta(days=1))
    ).sent == []


async def test_retries_give_up_after_the_limit(tables: Harness) -> None:
    await tables.service().execute(redbridge_raise())
    outbox = outbox_of(tables, max_attempts=2)
    failing = Recorder([Delivery(DeliveryResult.RETRY, error="503")] * 100)
    now = tables.clock.now
    first = await dispatch_once(outbox, failing, now, limit=1)
    [key] = first.retried
    second = await dispatch_once(outbox, failing, now + timedelta(hours=1), limit=1)
    assert second.failed == [key] and second.retried == []
    case_id = key.split(":", 1)[0]
    item = await outbox.message(case_id, key)
    assert item is not None and item.status == DeliveryStatus.FAILED
    assert item.last_error == "gave up after 2 attempts: 503"


async def test_a_dispatcher_that_died_holding_a_message_loses_it_to_another_after_the_lease(
    tables: Harness,
) -> None:
    opened = await tables.service().execute(redbridge_raise())
    outbox = outbox_of(tables, lease=timedelta(minutes=2))
    now = tables.clock.now
    items, _ = await outbox.due(now)
    claimed = await outbox.claim(items[0], now)  # ...and the process dies before sending
    assert claimed is not None
    channel = Recorder()
    during = await dispatch_once(outbox, channel, now + timedelta(minutes=1))
    assert claimed.key not in during.sent
    after = await dispatch_once(outbox, channel, now + timedelta(minutes=3))
    assert claimed.key in after.sent
    assert sorted(channel.sent) == sorted(n.key for n in opened.notifications)


async def test_a_hint_for_a_change_never_saved_is_cleared_after_a_grace(tables: Harness) -> None:
    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    table = tables.repository._t.outbox_pending
    await tables.store.upsert(
        table,
        {
            "PartitionKey": "pending",
            "RowKey": "RB-X|outbox-1",
            "case_id": "RB-X",
            "row": "outbox-1",
            "written_at": tables.clock.now,
        },
    )
    outbox = outbox_of(tables)
    _, removed = await outbox.due(tables.clock.now + timedelta(minutes=1))
    assert removed == 0  # the transaction may still be on its way
    _, removed = await outbox.due(tables.clock.now + timedelta(minutes=11))
    assert removed == 1
    assert await tables.store.get(table, "pending", "RB-X|outbox-1") is None


async def test_a_changes_messages_are_claimed_together_and_their_hints_removed_together(
    tables: Harness,
) -> None:
    opened = await tables.service().execute(redbridge_raise())
    assert len(opened.notifications) >= 2  # the raiser's case card and the other side's
    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    names = tables.repository._t
    logged = CallLog(tables.store)
    report = await dispatch_once(TableOutbox(logged, names), Recorder(), tables.clock.now)
    assert sorted(report.sent) == sorted(n.key for n in opened.notifications)
    # One claim for them all, each marked sent as it went (so a crash resends only the one in
    # flight), and one removal of their hints.
    assert logged.writes == [
        ("transact", names.cases),
        *[("update", names.cases)] * len(opened.notifications),
        ("transact", names.outbox_pending),
    ]
    assert await tables.store.query_partition(names.outbox_pending, PENDING_PARTITION) == []


async def test_a_message_another_instance_claimed_first_leaves_the_rest_to_be_claimed(
    tables: Harness,
) -> None:
    await tables.service().execute(redbridge_raise())
    now = tables.clock.now
    items, _ = await outbox_of(tables).due(now)
    taken = await outbox_of(tables).claim(items[0], now)  # another instance, mid-send
    assert taken is not None
    # This instance read the messages before that claim: its claim of them all fails on that
    # one and changes nothing, and it claims the others one by one.
    outbox = outbox_of(tables)
    claimed = await outbox.claim_all(items, now)
    assert sorted(c.key for c in claimed) == sorted(i.key for i in items[1:])
    still = await outbox.message(taken.notification.case_id, taken.key)
    assert still is not None and still.etag == taken.etag  # the other instance's claim stands
    for item in claimed:
        mine = await outbox.message(item.notification.case_id, item.key)
        assert mine is not None and mine.status == DeliveryStatus.SENDING
        assert mine.etag == item.etag and mine.attempts == 1


async def test_a_sent_messages_hint_left_by_a_crash_is_dropped_not_sent_again(
    tables: Harness,
) -> None:
    await tables.service().execute(redbridge_raise())
    outbox, now = outbox_of(tables), tables.clock.now
    items, _ = await outbox.due(now)
    claimed = await outbox.claim_all(items, now)
    await outbox.mark_sent(claimed[0], now)  # ...and the process dies here
    channel = Recorder()
    report = await dispatch_once(outbox, channel, now + timedelta(minutes=10))
    assert claimed[0].key not in channel.sent
    assert sorted(report.sent) == sorted(i.key for i in items[1:])
    assert tables.store is not None
    assert await tables.store.query_partition(outbox._t.outbox_pending, PENDING_PARTITION) == []


async def test_a_pass_over_a_backlog_reads_what_it_sends_not_the_whole_backlog(
    tables: Harness,
) -> None:
    service = tables.service()
    for _ in range(3):  # the channel was down: three cases' messages are waiting
        await service.execute(redbridge_raise())
    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    everything, _ = await outbox_of(tables).due(tables.clock.now)
    assert len(everything) >= 6
    reads = CallLog(tables.store)
    outbox = TableOutbox(reads, tables.repository._t)
    first, _ = await outbox.due(tables.clock.now, limit=2)
    assert [i.key for i in first] == [i.key for i in everything[:2]]  # the oldest first
    assert reads.count("get") == 2


async def test_a_message_waiting_for_a_later_attempt_is_not_read_until_then(
    tables: Harness,
) -> None:
    await tables.service().execute(redbridge_raise())
    assert tables.store is not None and isinstance(tables.repository, TableCaseRepository)
    now = tables.clock.now
    reads = CallLog(tables.store)
    outbox = TableOutbox(reads, tables.repository._t)
    report = await dispatch_once(outbox, Recorder([Delivery(DeliveryResult.RETRY)] * 10), now)
    assert report.retried and not report.sent
    reads.calls.clear()
    soon, _ = await outbox.due(now + timedelta(seconds=1))  # the first backoff is 1.6 s or more
    assert soon == [] and reads.count("get") == 0
    later = await dispatch_once(outbox, Recorder(), now + timedelta(hours=1))
    assert sorted(later.sent) == sorted(report.retried)
