"""Range tracking, tag composition, the checkpoint DB and option checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.core.errors import ConfigError
from agent.inputs.tail import TailInput
from agent.inputs.tail.checkpoint_db import CheckpointStore
from agent.inputs.tail.ranges import RangeTracker
from agent.inputs.tail.tagging import TagComposer
from tests.support.plugins import settings_for


def test_checkpoint_moves_over_contiguous_acknowledged_prefix_only() -> None:
    tracker = RangeTracker(0)
    a = tracker.add(0, 10, b"a")
    b = tracker.add(10, 25, b"b")
    c = tracker.add(25, 30, b"c")
    assert not tracker.settle(b, True)
    assert tracker.committed == 0
    assert tracker.settle(a, True)
    assert (tracker.committed, tracker.fingerprint) == (25, b"b")
    assert tracker.outstanding == 5
    assert tracker.settle(c, True)
    assert tracker.committed == 30 and tracker.idle


def test_failed_range_stops_the_checkpoint_at_its_start() -> None:
    tracker = RangeTracker(100)
    a = tracker.add(100, 110, b"")
    b = tracker.add(110, 120, b"")
    c = tracker.add(120, 130, b"")
    tracker.settle(b, False)
    tracker.settle(c, True)
    assert tracker.settle(a, True)
    assert tracker.committed == 110 and tracker.blocked
    d = tracker.add(130, 140, b"")
    assert not tracker.settle(d, True)
    assert tracker.committed == 110


@pytest.mark.parametrize(
    ("tag", "path", "expected"),
    [
        (
            "kube.*",
            "/var/log/containers/app_ns_c-123.log",
            "kube.var.log.containers.app_ns_c-123.log",
        ),
        ("*", "/var/log/a.log", "var.log.a.log"),
        ("pre.*.post", "/x/y.log", "pre.x.y.log.post"),
        ("order", "/var/log/a.log", "order"),
    ],
)
def test_tag_star_expansion(tag: str, path: str, expected: str) -> None:
    assert TagComposer(tag, None)(path) == expected


def test_tag_regex_fills_named_groups_and_underscore_for_missing() -> None:
    compose = TagComposer(
        "kube.<namespace>.<pod>.<nope>",
        r"(?<pod>[a-z0-9-]+)_(?<namespace>[^_]+)_(?<container>.+)-[a-z0-9]+\.log$",
    )
    assert compose("/var/log/containers/web-1_shop_nginx-abc123.log") == "kube.shop.web-1._"


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


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/x", "buffer_chunk_size": "64k", "buffer_max_size": "32k"}, "Buffer_Max_Size"),
        ({"path": "/x", "docker_mode": "on", "multiline__parser": "cri"}, "Docker_Mode"),
        ({"path": "/x", "tag_regex": "(?<a>[", "tag": "a.<a>"}, "Tag_Regex"),
    ],
)
def test_invalid_option_combinations(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        settings_for(TailInput, **options)
    assert "test.conf:1" in str(info.value)


def test_defaults_follow_fluent_bit() -> None:
    settings = settings_for(TailInput, path="/var/log/*.log")
    assert settings["buffer_chunk_size"] == 32768
    assert settings["buffer_max_size"] == 32768
    assert settings["refresh_interval"] == 60
    assert settings["rotate_wait"] == 5
    assert settings["docker_mode_flush"] == 4
    assert settings["key"] == "log"
    assert settings["db.sync"] == "normal"
    assert settings["db.journal_mode"] == "WAL"
    assert settings["read_from_head"] is False
