from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from logtide.agent.core import durable
from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Ack, Chunk, Event, Origin
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
    queue.append([("a", events(1, 2), None), ("b", events(3), None)])
    batches, position = queue.read(10)
    assert batches == [("a", events(1, 2), None), ("b", events(3), None)]
    reopened = DiskQueue(str(tmp_path))
    assert reopened.read(10)[0] == batches
    reopened.commit(position)
    reopened.append([("a", events(4), None)])
    again = DiskQueue(str(tmp_path))
    assert again.read(10)[0] == [("a", events(4), None)]


def test_a_chunk_keeps_its_progress_on_disk(tmp_path: Path) -> None:
    queue = DiskQueue(str(tmp_path))
    progress = ("tail.0:7|tail.0|app", 4096)
    queue.append([("app", events(1, 2), progress), ("other", events(3), None)])
    assert DiskQueue(str(tmp_path)).read(10)[0] == [
        ("app", events(1, 2), progress),
        ("other", events(3), None),
    ]


def test_a_queue_written_before_progress_was_kept_still_reads(tmp_path: Path) -> None:
    payload = b'["app",[[1.0,{"n":1}]]]'
    (tmp_path / "000000000000.q").write_bytes(len(payload).to_bytes(4, "big") + payload)
    assert DiskQueue(str(tmp_path)).read(10)[0] == [("app", events(1), None)]


def test_a_chunk_whose_progress_does_not_decode_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames = b""
    for payload in (b'["app",[[1.0,{"n":1}]],7,"x"]', b'["app",[[2.0,{"n":2}]],"m",2]'):
        frames += len(payload).to_bytes(4, "big") + payload
    (tmp_path / "000000000000.q").write_bytes(frames)
    queue = DiskQueue(str(tmp_path))
    assert queue.read(10)[0] == [("app", events(2), ("m", 2))]
    assert queue.skipped_frames == 1
    assert "the mark is not a string and an offset" in caplog.text


def test_torn_frame_from_a_crash_is_dropped(tmp_path: Path) -> None:
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(1), None)])
    segment = next(tmp_path.glob("*.q"))
    with open(segment, "ab") as handle:
        handle.write(b'\x00\x00\x01\x00{"half')
    reopened = DiskQueue(str(tmp_path))
    assert reopened.read(10)[0] == [("a", events(1), None)]
    reopened.append([("a", events(2), None)])
    assert [e for _, evs, _ in reopened.read(10)[0] for e in evs] == events(1, 2)


def test_spent_segments_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk_queue, "SEGMENT_BYTES", 64)
    queue = DiskQueue(str(tmp_path))
    for n in range(5):
        queue.append([("a", events(n), None)])
    assert len(list(tmp_path.glob("*.q"))) > 1
    batches, position = queue.read(100)
    assert [e for _, evs, _ in batches for e in evs] == events(0, 1, 2, 3, 4)
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
    queue.append([("a", events(1), None)])
    with monkeypatch.context() as patch:
        patch.setattr(durable, "write_all", half_then_full(durable.write_all))
        with pytest.raises(OSError):
            queue.append([("a", events(2, 3), None)])
    queue.append([("a", events(2, 3), None)])
    queue.append([("a", events(4), None)])
    batches, _ = queue.read(100)
    assert [e for _, evs, _ in batches for e in evs] == events(1, 2, 3, 4)
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


class Marked(OutputPlugin):
    """An exactly-once output: holds the events up to its watermarks, records the marks."""

    name = "marked"

    def __init__(self, held: dict[str, int]) -> None:
        self.held = held
        self.flushes: list[tuple[str, list[Event], list[tuple[str, int]]]] = []

    async def flush(self, tag: str, events: list[Event]) -> None:
        raise AssertionError("an exactly-once output is flushed with its marks")

    async def flush_marked(
        self, tag: str, events: list[Event], marks: Sequence[tuple[str, int]]
    ) -> None:
        self.flushes.append((tag, events, list(marks)))

    def watermarks(self) -> dict[str, int]:
        return dict(self.held)


async def test_a_restart_delivers_no_queued_chunk_the_output_already_holds(
    tmp_path: Path,
) -> None:
    """A crash between the output's record of a flush and the queue's commit replays the
    flush from disk: the output's watermarks say it holds those chunks."""
    mark = "tail.0:7|tail.0|app"
    DiskQueue(str(tmp_path)).append(
        [
            ("app", events(1, 2), (mark, 100)),
            ("app", events(3), (mark, 200)),
            ("app", events(4), (mark, 300)),
            ("app", events(5), None),
        ]
    )
    plugin = Marked({mark: 200})
    restarted = runner(plugin, tmp_path)
    await restarted.recall()  # as the engine does after the output's start()
    task = asyncio.create_task(restarted.run())
    await asyncio.wait_for(restarted.settled(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert plugin.flushes == [("app", events(4, 5), [(mark, 300)])]
    assert restarted.metrics.get("down.0", "already_held_records") == 3
    assert DiskQueue(str(tmp_path)).read(10)[0] == []


async def test_a_chunk_delivered_from_disk_brings_its_progress(tmp_path: Path) -> None:
    plugin = Marked({})
    disk_runner = runner(plugin, tmp_path)
    task = asyncio.create_task(disk_runner.run())
    chunk = Chunk("app", events(1, 2), Ack(lambda ok: None), origin=Origin("tail.0:7", 0, 64))
    await disk_runner.put(chunk)
    chunk.ack.settle(True)
    await asyncio.wait_for(disk_runner.settled(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert chunk.progress is not None
    assert plugin.flushes == [("app", events(1, 2), [chunk.progress])]


async def test_a_chunk_read_again_while_its_copy_waits_in_the_queue_is_not_queued_twice(
    tmp_path: Path,
) -> None:
    """A crash after a chunk was fsynced into the queue but before the source's checkpoint
    reached its DB: the restart reads the chunk again, and the queue still holds it."""
    mark = "tail.0:7|tail.0|app"
    DiskQueue(str(tmp_path)).append([("app", events(1, 2), (mark, 100))])
    plugin = Marked({})
    restarted = runner(plugin, tmp_path)
    await restarted.recall()
    assert restarted.queued == {mark: 100}
    again = Chunk(
        "app", events(1, 2), Ack(lambda ok: None), "tail.0", 0, Origin("tail.0:7", 0, 100)
    )
    later = Chunk("app", events(3), Ack(lambda ok: None), "tail.0", 0, Origin("tail.0:7", 100, 150))
    assert again.progress == (mark, 100)
    task = asyncio.create_task(restarted.run())
    for chunk in (again, later):
        await restarted.put(chunk)
        chunk.ack.settle(True)
    await asyncio.wait_for(restarted.settled(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    delivered = [event for _, flushed, _ in plugin.flushes for event in flushed]
    assert delivered == events(1, 2, 3)
    assert restarted.metrics.get("down.0", "already_held_records") == 2
