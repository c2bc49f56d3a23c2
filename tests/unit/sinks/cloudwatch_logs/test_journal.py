"""The cloudwatch_logs journal: open batches and watermarks survive a crash, a torn last line
is ignored, confirmed batches and superseded ones are not checked again, compaction keeps
exactly what is open."""

from __future__ import annotations

import errno
import os
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import orjson
import pytest

from logtide.sinks.cloudwatch_logs import journal as journal_module
from logtide.sinks.cloudwatch_logs.journal import Journal
from tests.support.full_disk import refuse
from tests.support.journal_lock import leave_out_the_journal_lock

A = ("group", "a")
B = ("group", "b")


@pytest.fixture(autouse=True)
def _restarts_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    leave_out_the_journal_lock(monkeypatch)


def encoded(events: list[tuple[int, str]]) -> bytes:
    """A batch's ``logEvents`` array, as the output encodes it."""
    return orjson.dumps([{"timestamp": t, "message": m} for t, m in events])


def record(journal: Journal, batches: list, marks: list, closes: Iterable = ()) -> int:
    prepared = journal.prepare([(key, encoded(events)) for key, events in batches], marks, closes)
    journal.write(prepared)
    return prepared.rid


def reopen(path: Path) -> tuple[Journal, list[tuple[tuple[int, int], tuple[str, str], list]]]:
    journal = Journal(path)
    batches = journal.open()
    return journal, [(b.ref, b.key, b.events) for b in batches]


def test_open_batches_and_watermarks_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "j" / "out.journal"
    journal = Journal(path)
    assert journal.open() == []
    rid = record(
        journal, [(A, [(1, "x"), (2, "y")]), (B, [(3, "z")])], [("src|s|t", 100), ("src|s|u", 7)]
    )
    journal.done((rid, 0))
    # No close(): a kill -9 leaves the file as written.
    again, batches = reopen(path)
    assert batches == [((rid, 1), B, [(3, "z")])]
    assert again.watermarks == {"src|s|t": 100, "src|s|u": 7}
    assert record(again, [(A, [(4, "w")])], [("src|s|t", 50)]) > rid  # ids keep growing
    assert again.watermarks["src|s|t"] == 100  # a watermark never goes back


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    record(journal, [(A, [(1, "x")])], [("m", 10)])
    with path.open("ab") as handle:  # a crash in the middle of the next record's write
        handle.write(orjson.dumps(["r", 2, 0, [["m", 20]], [["group", "a", [[2, "y"]]]], []])[:25])
    again, batches = reopen(path)
    assert [events for _, _, events in batches] == [[(1, "x")]]
    assert again.watermarks == {"m": 10}
    # Compaction on open removed the torn bytes: later lines are read on the next open.
    record(again, [(A, [(3, "z")])], [("m", 30)])
    _, batches = reopen(path)
    assert [events for _, _, events in batches] == [[(1, "x")], [(3, "z")]]


def test_a_retry_closes_the_batches_it_sends_again(tmp_path: Path) -> None:
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    first = record(journal, [(A, [(1, "x")]), (A, [(2, "y")])], [("m", 10)])
    journal.done((first, 0))
    retry = record(journal, [(A, [(2, "y")])], [("m", 10)], closes=[(first, 1)])
    assert not journal.is_open((first, 1))
    _, batches = reopen(path)
    assert [ref for ref, _, _ in batches] == [(retry, 0)]


def test_compaction_keeps_only_what_is_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "COMPACT_BYTES", 2000)
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    kept = record(journal, [(A, [(0, "kept é")]), (B, [(0, "done")])], [("m", 0)])
    written = path.read_bytes().splitlines()[-1]
    journal.done((kept, 1))
    for n in range(1, 200):
        rid = record(journal, [(A, [(n, "m" * 50)])], [("m", n)])
        journal.done((rid, 0))
    assert path.stat().st_size < 2000 + 200  # compacted along the way
    # An open record's line is copied as written, its closed batch then closed by a line.
    assert path.read_bytes().splitlines()[1:3] == [written, orjson.dumps(["d", kept, 1])]
    again, batches = reopen(path)
    assert batches == [((kept, 0), A, [(0, "kept é")])]
    assert again.watermarks == {"m": 199}
    # The compacted file still closes batches by their old index.
    again.done((kept, 0))
    assert reopen(path)[1] == []


def test_a_failed_write_leaves_the_journal_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    record(journal, [(A, [(1, "x")])], [("m", 10)])
    size = path.stat().st_size
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module.os, "fsync", full)
    with pytest.raises(OSError):
        record(journal, [(A, [(2, "y")])], [("m", 20)])
    monkeypatch.setattr(journal_module.os, "fsync", real_fsync)
    assert path.stat().st_size == size
    assert journal.watermarks == {"m": 10}
    _, batches = reopen(path)
    assert [events for _, _, events in batches] == [[(1, "x")]]


def test_a_batch_is_journaled_as_the_logevents_array_the_request_carries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    big = [(n, f'message {n} é " \\ \n') for n in range(1007)]
    rid = record(journal, [(A, big), (B, [(1, "x")])], [("m", 10)], closes=[(99, 0)])
    line = path.read_bytes().splitlines()[-1]
    assert encoded(big) in line  # the very bytes, not a second encoding
    assert orjson.loads(line) == ["r", rid, orjson.loads(line)[2], [["m", 10]],
                                  [["group", "a", orjson.loads(encoded(big))],
                                   ["group", "b", [{"timestamp": 1, "message": "x"}]]],
                                  [[99, 0]]]  # fmt: skip
    _, batches = reopen(path)
    assert [(key, events) for _, key, events in batches] == [(A, big), (B, [(1, "x")])]


def test_a_journal_of_timestamp_message_pairs_is_still_read(tmp_path: Path) -> None:
    """Lines written before batches were journaled as the request's array hold pairs."""
    path = tmp_path / "out.journal"
    path.write_bytes(
        orjson.dumps(["r", 4, 0, [["m", 10]], [["group", "a", [[1, "x"], [2, "y"]]]], []]) + b"\n"
    )
    journal, batches = reopen(path)
    assert batches == [((4, 0), A, [(1, "x"), (2, "y")])]
    assert journal.watermarks == {"m": 10}


def test_a_last_line_without_its_newline_is_copied_with_one(tmp_path: Path) -> None:
    path = tmp_path / "out.journal"
    path.write_bytes(orjson.dumps(["r", 4, 0, [["m", 10]], [["group", "a", [[1, "x"]]]], []]))
    journal, batches = reopen(path)
    assert batches == [((4, 0), A, [(1, "x")])]
    later = record(journal, [(B, [(2, "y")])], [("m", 20)])
    _, batches = reopen(path)
    assert [ref for ref, _, _ in batches] == [(4, 0), (later, 0)]


def test_reading_a_large_journal_holds_only_its_open_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to COMPACT_BYTES of closed batches are read back at a start: one line at a time."""
    monkeypatch.setattr(journal_module, "COMPACT_BYTES", 1 << 30)
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    events = [(n, "e" * 200) for n in range(500)]
    for _ in range(100):
        journal.done((record(journal, [(A, events)], [("m", 1)]), 0))
    kept = record(journal, [(A, [(1, "open")])], [("m", 2)])
    journal.close()
    assert path.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        _, batches = reopen(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert batches == [((kept, 0), A, [(1, "open")])]
    assert peak < 3_000_000  # the file is 11 MB; its events as objects several times that


def test_open_on_a_full_disk_appends_to_the_file_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Compaction writes a whole new file, which a full disk refuses: the agent used to stop
    # at start. The file is kept instead, cut back to its last whole line.
    path = tmp_path / "out.journal"
    journal = Journal(path)
    journal.open()
    first = record(journal, [(A, [(1, "x")])], [("m", 10)])
    with path.open("ab") as handle:  # a crash in the middle of the next record's write
        handle.write(b'["r",2,0,[["m",20]],[["gr')

    with monkeypatch.context() as patch:
        patch.setattr(journal_module, "write_atomic", refuse)
        again = Journal(path)
        batches = again.open()
    assert again.compaction_error is not None and again.compaction_error.errno == errno.ENOSPC
    assert [(b.ref, b.events) for b in batches] == [((first, 0), [(1, "x")])]
    later = record(again, [(B, [(2, "y")])], [("m", 30)])
    again.done((first, 0))
    _, reopened = reopen(path)
    assert reopened == [((later, 0), B, [(2, "y")])]
