"""The checkpoint rows and their SQLite file (Fluent Bit's layout plus fingerprints and lineages)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from logtide.agent.inputs.tail import checkpoint_db
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.rows import HEAD_MAX_BYTES, digest, head_of


def test_db_round_trip_with_fingerprint(tmp_path: Path) -> None:
    db = str(tmp_path / "state" / "tail.db")
    store = CheckpointStore(db)
    store.open()
    row = store.create("/var/log/a.log", 1234, 0)
    row.offset = 42
    row.set_fingerprint(b"last bytes\n")
    store.touch(row)
    store.write(store.snapshot())
    store.close()
    again = CheckpointStore(db)
    again.open()
    loaded = again.find(1234, "/other/name.log")
    assert loaded is not None
    assert (loaded.name, loaded.offset, loaded.fp_length) == ("/var/log/a.log", 42, 11)
    assert loaded.fp_digest == row.fp_digest
    again.delete(loaded)
    again.write(again.snapshot())
    again.close()
    assert list(sqlite3.connect(db).execute("SELECT COUNT(*) FROM in_tail_files")) == [(0,)]


def test_a_name_that_is_not_utf8_is_kept_as_its_bytes(tmp_path: Path) -> None:
    """Linux names are bytes; Python decodes the invalid ones with surrogate escapes, which
    SQLite text refuses: the write failed and stopped the input. Such a name is stored as its
    bytes (a BLOB) and read back as the same name."""
    db = str(tmp_path / "tail.db")
    odd = os.fsdecode(b"/var/log/bad\xff name.log")
    store = CheckpointStore(db)
    store.open()
    kept, gone = store.create(odd, 1, 0), store.create(odd + ".1", 2, 0)
    kept.offset = 12
    gone.set_head(b"first line\n")
    store.write(store.snapshot())
    store.retire(gone)
    store.write(store.snapshot())
    store.close()
    again = CheckpointStore(db, compare_filename=True)
    again.open()
    loaded = again.find(1, odd)
    assert loaded is not None and (loaded.name, loaded.offset) == (odd, 12)
    assert again.done == [(odd + ".1", 11, digest(b"first line\n"))]
    again.close()
    (stored,) = sqlite3.connect(db).execute("SELECT name FROM in_tail_files")
    assert stored == (b"/var/log/bad\xff name.log",)


def test_lineage_is_written_when_it_changes_only(tmp_path: Path) -> None:
    db = str(tmp_path / "tail.db")
    store = CheckpointStore(db)
    store.open()
    row = store.create("/var/log/a.log", 1, 0)
    first = store.snapshot()
    assert [kind for kind, _ in first] == ["upsert", "lineage"]
    store.write(first)
    row.offset = 10
    store.touch(row)
    assert [kind for kind, _ in store.snapshot()] == ["upsert"]
    row.reset_lineage()
    row.set_head(b"new content")
    store.touch(row)
    changed = store.snapshot()
    assert [kind for kind, _ in changed] == ["upsert", "lineage"]
    store.write(changed)
    store.close()
    again = CheckpointStore(db)
    again.open()
    loaded = again.rows[row.id]
    assert (loaded.lineage, loaded.head_length, loaded.head_digest) == (
        row.lineage,
        row.head_length,
        row.head_digest,
    )
    loaded.offset = 20
    again.touch(loaded)
    assert [kind for kind, _ in again.snapshot()] == ["upsert"]
    again.close()


def test_lineage_saved_follows_committed_writes(tmp_path: Path) -> None:
    """Saved once a write committed, not when a snapshot took it; a closed store (nothing
    more can be written) or a row no longer kept counts as saved, so no chunk waits on it."""
    store = CheckpointStore(str(tmp_path / "tail.db"))
    store.open()
    row = store.create("/var/log/a.log", 1, 0)
    taken = store.snapshot()
    assert not store.lineage_saved(row)
    store.write(taken)
    assert store.lineage_saved(row)
    other = store.create("/var/log/b.log", 2, 0)
    store.delete(other)
    assert store.lineage_saved(other)
    row.reset_lineage()
    assert not store.lineage_saved(row)
    store.close()
    assert store.lineage_saved(row)


def test_fluent_bit_db_is_picked_up_and_compare_filename(tmp_path: Path) -> None:
    db = tmp_path / "flb_kube.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE in_tail_files (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "offset INTEGER, inode INTEGER, created INTEGER, rotated INTEGER DEFAULT 0)"
    )
    con.execute("INSERT INTO in_tail_files VALUES (7, '/var/log/x.log', 99, 555, 1, 0)")
    con.commit()
    con.close()
    store = CheckpointStore(str(db), compare_filename=True)
    store.open()
    assert store.find(555, "/var/log/y.log") is None
    row = store.find(555, "/var/log/x.log")
    assert row is not None and (row.id, row.offset, row.fp_length) == (7, 99, 0)
    assert store.create("/n.log", 1, 0).id == 8


def test_fingerprint_mismatch_detected(tmp_path: Path) -> None:
    import os

    path = tmp_path / "f.log"
    path.write_bytes(b"hello world\nsecond line\n")
    store = CheckpointStore(None)
    row = store.create(str(path), 1, 12)
    row.set_fingerprint(b"hello world\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert row.matches(fd, 24)
        row.set_fingerprint(b"HELLO world\n")
        assert not row.matches(fd, 24)
        row.set_fingerprint(b"hello world\n")
        assert not row.matches(fd, 5)  # shrunk below the offset
    finally:
        os.close(fd)


def test_a_row_takes_its_head_once_the_file_has_a_whole_line(tmp_path: Path) -> None:
    """A head shorter than 256 bytes ends at a line's end (a line caught half-written may
    begin another generation too); 256 bytes or more are taken as they are; a head once
    taken stays."""
    log = tmp_path / "0.log"
    log.write_bytes(b"")
    row = CheckpointStore(None).create(str(log), 1, 0)
    with open(log, "rb") as reader, open(log, "ab", buffering=0) as writer:
        fd = reader.fileno()
        assert not row.take_head(fd, 0)
        writer.write(b'{"log":"half')
        assert not row.take_head(fd, log.stat().st_size)
        writer.write(b' a line"}\n{"log":"and')
        assert row.take_head(fd, log.stat().st_size)
        assert row.head_length == len(b'{"log":"half a line"}\n')
        assert row.head_matches(fd)
        writer.write(b"x" * 300)
        assert not row.take_head(fd, log.stat().st_size)
        assert row.head_length == len(b'{"log":"half a line"}\n')
    long = CheckpointStore(None).create(str(log), 1, 0)
    with open(log, "rb") as reader:
        assert long.take_head(reader.fileno(), log.stat().st_size)
    assert long.head_length == 256


def test_a_first_line_longer_than_256_bytes_is_the_head_whole(tmp_path: Path) -> None:
    """docker's json-file line ends with its time: two generations that begin with the same
    long message differ only past 256 bytes, so such a line is a head whole, taken once it
    ends (up to ``HEAD_MAX_BYTES`` of a line that does not)."""
    message = b'{"log":"' + b"W" * 300
    first = message + b'\\n","stream":"stdout","time":"2026-12-03T18:00:00.000000001Z"}\n'
    other = first.replace(b"0001Z", b"0002Z")
    assert first[:256] == other[:256]
    assert head_of(first + other) == first != head_of(other + first)
    assert head_of(first[:-1]) == b""
    assert head_of(b"x" * (HEAD_MAX_BYTES + 10)) == b"x" * HEAD_MAX_BYTES
    log = tmp_path / "0.log"
    log.write_bytes(b"")
    row = CheckpointStore(None).create(str(log), 1, 0)
    with open(log, "rb") as reader, open(log, "ab", buffering=0) as writer:
        fd = reader.fileno()
        writer.write(first[:-1])
        assert not row.take_head(fd, log.stat().st_size)
        writer.write(b"\n" + other)
        assert row.take_head(fd, log.stat().st_size)
        assert (row.head_length, row.head_digest) == (len(first), digest(first))
        assert row.head_matches(fd)


def test_a_retired_row_leaves_its_head_in_logtide_done_the_newest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``retire``: the row goes, its head stays (``logtide_done``), also after a write that
    failed and was restored; a row with no head leaves nothing; the newest ``DONE_KEPT``
    heads are kept."""
    monkeypatch.setattr(
        checkpoint_db,
        "_PRUNE_DONE",
        checkpoint_db._PRUNE_DONE.replace(str(checkpoint_db.DONE_KEPT), "3"),
    )
    db = str(tmp_path / "tail.db")
    store = CheckpointStore(db)
    store.open()
    rows = [store.create(f"/var/log/{n}.log", n + 1, 0) for n in range(5)]
    for n, row in enumerate(rows[:4]):
        row.set_head(b"line %d\n" % n)
    store.write(store.snapshot())
    store.retire(rows[0])
    store.retire(rows[4])  # no head: nothing to remember
    failed = store.snapshot()
    store.restore(failed)
    for row in rows[1:4]:
        store.retire(row)
    store.write(store.snapshot())
    store.close()
    again = CheckpointStore(db)
    again.open()
    assert again.rows == {}
    kept = [(f"/var/log/{n}.log", 7, digest(b"line %d\n" % n)) for n in (0, 1, 2, 3)][-3:]
    assert sorted(again.done) == kept
    again.close()


def test_heads_kept_by_a_logtide_before_names_load_without_one(tmp_path: Path) -> None:
    """A ``logtide_done`` table without its ``name`` column (an older logtide's) gets one:
    its heads load with no name (they stand for any path), new ones are kept with theirs."""
    db = tmp_path / "tail.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TABLE logtide_done (id INTEGER PRIMARY KEY, head_length INTEGER NOT NULL, "
            "head_digest BLOB NOT NULL)"
        )
        con.execute(
            "INSERT INTO logtide_done (head_length, head_digest) VALUES (?, ?)",
            (5, digest(b"old\n\n")),
        )
    con.close()
    store = CheckpointStore(str(db))
    store.open()
    assert store.done == [(None, 5, digest(b"old\n\n"))]
    row = store.create("/var/log/new.log", 1, 0)
    row.set_head(b"new\n")
    store.retire(row)
    store.write(store.snapshot())
    store.close()
    again = CheckpointStore(str(db))
    again.open()
    assert again.done == [(None, 5, digest(b"old\n\n")), ("/var/log/new.log", 4, digest(b"new\n"))]
    again.close()
