from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logtide.agent.core import durable
from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Ack, Chunk, Event
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.retry import Backoff
from logtide.agent.engine import disk_queue
from logtide.agent.engine.disk_queue import DiskQueue
from logtide.agent.engine.output_runner import OutputRunner
from tests.support.full_disk import half_then_full, no_space
from tests.unit.engine.support import make_runner


def events(*numbers: int) -> list[Event]:
    return [(float(n), {"n": n}) for n in numbers]


def test_append_read_commit_and_reopen(tmp_path: Path) -> None:
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(1, 2)), ("b", events(3))])
    batches, position = queue.read(10)
    assert batches == [("a", events(1, 2)), ("b", events(3))]
    reopened = DiskQueue(str(tmp_path))
    assert reopened.read(10)[0] == batches
    reopened.commit(position)
    reopened.append([("a", events(4))])
    again = DiskQueue(str(tmp_path))
    assert again.read(10)[0] == [("a", events(4))]


def test_torn_frame_from_a_crash_is_dropped(tmp_path: Path) -> None:
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(1))])
    segment = next(tmp_path.glob("*.q"))
    with open(segment, "ab") as handle:
        handle.write(b'\x00\x00\x01\x00{"half')
    reopened = DiskQueue(str(tmp_path))
    assert reopened.read(10)[0] == [("a", events(1))]
    reopened.append([("a", events(2))])
    assert [e for _, evs in reopened.read(10)[0] for e in evs] == events(1, 2)


def test_spent_segments_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk_queue, "SEGMENT_BYTES", 64)
    queue = DiskQueue(str(tmp_path))
    for n in range(5):
        queue.append([("a", events(n))])
    assert len(list(tmp_path.glob("*.q"))) > 1
    batches, position = queue.read(100)
    assert [e for _, evs in batches for e in evs] == events(0, 1, 2, 3, 4)
    queue.commit(position)
    assert len(list(tmp_path.glob("*.q"))) <= 1
    assert queue.read(100)[0] == []


class Down(OutputPlugin):
    """Fails every flush while ``down`` is set."""

    name = "down"

    def __init__(self) -> None:
        self.down = True
        self.accepted: list[Event] = []

    async def flush(self, tag: str, events: list[Event]) -> None:
        if self.down:
            raise RetryableDeliveryError("connection refused")
        self.accepted.extend(events)


def runner(plugin: OutputPlugin, folder: Path) -> OutputRunner:
    return make_runner(plugin, "down.0", backoff=Backoff(0.01, 0.02), disk=DiskQueue(str(folder)))


async def test_outage_acknowledges_once_on_disk_and_delivers_after_restart(tmp_path: Path) -> None:
    plugin = Down()
    first = runner(plugin, tmp_path)
    task = asyncio.create_task(first.run())
    results: list[bool] = []
    chunk = Chunk("t", events(1, 2, 3), Ack(results.append))
    await first.put(chunk)
    chunk.ack.settle(True)
    await asyncio.wait_for(first.queue.join(), 5)
    assert results == [True]  # durable on disk: the source may checkpoint
    await asyncio.sleep(0.1)
    assert plugin.accepted == []
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    plugin.down = False
    second = runner(plugin, tmp_path)
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(second.settled(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert plugin.accepted == events(1, 2, 3)
    assert DiskQueue(str(tmp_path)).read(10)[0] == []


def test_an_append_the_disk_cut_short_leaves_the_queue_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once the half frame stayed in the segment; the reader met it in front of the retried
    # append, skipped it as damaged and never delivered anything after.
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(1))])
    with monkeypatch.context() as patch:
        patch.setattr(durable, "write_all", half_then_full(durable.write_all))
        with pytest.raises(OSError):
            queue.append([("a", events(2, 3))])
    queue.append([("a", events(2, 3))])
    queue.append([("a", events(4))])
    batches, _ = queue.read(100)
    assert [e for _, evs in batches for e in evs] == events(1, 2, 3, 4)
    assert queue.skipped_frames == 0


async def test_a_commit_the_disk_refuses_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk refuses the ``committed`` file's rewrite: that once ended the runner's
    # delivery from disk for the rest of the run.
    plugin = Down()
    plugin.down = False
    disk_runner = runner(plugin, tmp_path)
    assert disk_runner.disk is not None
    real_commit = disk_runner.disk.commit
    refusals = [no_space()] * 3

    def commit(position: disk_queue.Position) -> None:
        if refusals:
            raise refusals.pop()
        real_commit(position)

    monkeypatch.setattr(disk_runner.disk, "commit", commit)
    task = asyncio.create_task(disk_runner.run())
    for numbers in ((1, 2), (3,)):
        chunk = Chunk("t", events(*numbers), Ack(lambda ok: None))
        await disk_runner.put(chunk)
        chunk.ack.settle(True)
    await asyncio.wait_for(disk_runner.settled(), 5)
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert refusals == []
    assert plugin.accepted == events(1, 2, 3)
    assert DiskQueue(str(tmp_path)).read(10)[0] == []
