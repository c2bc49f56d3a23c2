"""``storage.checksum``: a CRC32 per disk queue chunk, checked when the chunk is read back;
a damaged chunk (with or without checksums) is reported in one line and skipped, never a
crash, and the chunks around it are delivered. ``storage.backlog.mem_limit``: how much one
read of the queue holds."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import pytest

from logtide.agent.core.events import Event
from logtide.agent.engine import disk_queue
from logtide.agent.engine.disk_queue import DiskQueue


def events(*numbers: int) -> list[Event]:
    return [(float(n), {"n": n}) for n in numbers]


def delivered(queue: DiskQueue) -> list[Event]:
    batches, position = queue.read(100)
    queue.commit(position)
    return [event for _, evs, _ in batches for event in evs]


def segment(folder: Path) -> Path:
    [path] = folder.glob("*.q")
    return path


def replace_once(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def skip_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " skipped, " in r.getMessage()]


def test_checksummed_and_plain_chunks_read_back_alike(tmp_path: Path) -> None:
    plain = DiskQueue(str(tmp_path))
    plain.append([("a", events(1), None)])
    checked = DiskQueue(str(tmp_path), checksum=True)
    checked.append([("a", events(2), None), ("b", events(3), None)])
    # Turning the option off again still verifies the chunks that carry a CRC.
    assert delivered(DiskQueue(str(tmp_path))) == events(1, 2, 3)


def test_a_checksum_catches_damage_that_still_parses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = DiskQueue(str(tmp_path), checksum=True)
    queue.append([("a", events(1), None), ("a", events(22), None), ("a", events(3), None)])
    replace_once(segment(tmp_path), b'"n":22', b'"n":27')  # one flipped digit, still JSON
    with caplog.at_level(logging.ERROR, "logtide"):
        assert delivered(DiskQueue(str(tmp_path), checksum=True)) == events(1, 3)
    [line] = skip_lines(caplog)
    assert "CRC32" in line and str(segment(tmp_path)) in line


def test_without_checksum_the_same_damage_goes_through_unnoticed(tmp_path: Path) -> None:
    # What storage.checksum adds: the plain frame has nothing to check the digit against.
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(22), None)])
    replace_once(segment(tmp_path), b'"n":22', b'"n":27')
    assert delivered(DiskQueue(str(tmp_path))) == [(22.0, {"n": 27})]


def test_a_chunk_that_does_not_decode_is_skipped_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = DiskQueue(str(tmp_path))
    queue.append([("a", events(1), None), ("a", events(22), None), ("a", events(3), None)])
    replace_once(segment(tmp_path), b'"n":22', b'"n":{2')
    with caplog.at_level(logging.ERROR, "logtide"):
        assert delivered(DiskQueue(str(tmp_path))) == events(1, 3)
    [line] = skip_lines(caplog)
    assert "does not decode" in line


def test_nothing_but_damaged_chunks_is_committed_past_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = DiskQueue(str(tmp_path), checksum=True)
    queue.append([("a", events(22), None)])
    replace_once(segment(tmp_path), b'"n":22', b'"n":27')
    reopened = DiskQueue(str(tmp_path), checksum=True)
    with caplog.at_level(logging.ERROR, "logtide"):
        assert reopened.read(100)[0] == []
        assert reopened.read(100)[0] == []  # not reported again: the skip was committed
    assert len(skip_lines(caplog)) == 1
    reopened.append([("a", events(4), None)])
    assert delivered(DiskQueue(str(tmp_path))) == events(4)


def test_a_sealed_segment_whose_lengths_break_is_reported_and_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(disk_queue, "SEGMENT_BYTES", 40)
    queue = DiskQueue(str(tmp_path))
    for n in (1, 2, 3):
        queue.append([("a", events(n), None)])
    assert len(list(tmp_path.glob("*.q"))) == 2  # chunks 1 and 2, then 3
    first = sorted(tmp_path.glob("*.q"))[0]
    data = bytearray(first.read_bytes())
    data[0:4] = (len(data) * 2).to_bytes(4, "big")  # the first frame now claims too much
    first.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, "logtide"):
        # The rest of that segment cannot be framed again; the next segment is read.
        assert delivered(DiskQueue(str(tmp_path))) == events(3)
    [line] = skip_lines(caplog)
    assert "run past the segment's end" in line and str(first) in line


def test_backlog_mem_limit_bounds_one_read(tmp_path: Path) -> None:
    DiskQueue(str(tmp_path)).append([("a", events(n), None) for n in range(100)])
    queue = DiskQueue(str(tmp_path), backlog_limit=60)
    first, position = queue.read(1000)
    assert 1 < len(first) < 10  # about 60 bytes of ~22-byte chunks, not all 100
    queue.commit(position)
    rest = [e for _, evs, _ in queue.read(1000)[0] for e in evs]
    assert len(rest) == len(first)  # each read stays under the limit
    one = DiskQueue(str(tmp_path), backlog_limit=1)
    assert len(one.read(1000)[0]) == 1  # always at least one chunk


def test_a_backlog_read_holds_about_its_limit_not_the_segment(tmp_path: Path) -> None:
    big = [("a", [(1.0, {"log": "x" * 1000})] * 10, None)] * 600  # ~6 MB in one segment
    DiskQueue(str(tmp_path)).append(big)
    queue = DiskQueue(str(tmp_path), backlog_limit=64 * 1024)
    tracemalloc.start()
    try:
        batches, _ = queue.read(100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 1 < len(batches) < 10
    assert peak < 1024 * 1024, peak
