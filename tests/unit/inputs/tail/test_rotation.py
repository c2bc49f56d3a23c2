"""Rotation, truncation, deletion, restarts and acknowledgements, against a real folder."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gzip
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from logtide.agent.inputs.tail import gzip_recovery
from logtide.agent.inputs.tail.rows import FINGERPRINT_BYTES, digest
from tests.support.tail_db import stored_offsets
from tests.unit.inputs.tail.harness import Sink, running, wait_for

LIVE = {"read_from_head": "on", "rotate_wait": "0.3", "refresh_interval": "0.2"}


def _lines(start: int, stop: int, word: bytes = b"line") -> bytes:
    return b"".join(b"%s %d\n" % (word, n) for n in range(start, stop))


# A line whose first 256 bytes are those of every other: docker's json-file puts the time
# after the message, so a long line that repeats begins generations alike.
LONG = b"W" * 300


def _numbers(sink: Sink) -> list[int]:
    return [int(log.split()[-1]) for log in sink.logs()]


async def test_rename_rotation_reads_old_file_to_end_and_new_from_head(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    writer = open(log, "ab", buffering=0)  # noqa: SIM115 - the app keeps its fd across rotation
    writer.write(_lines(0, 100))
    sink = Sink()
    async with running(sink, path=f"{tmp_path}/*.log", db=str(tmp_path / "t.db"), **LIVE) as tail:
        await wait_for(lambda: len(sink.records) == 100)
        writer.write(_lines(100, 150))
        os.rename(log, tmp_path / "app.log.1")
        writer.write(_lines(150, 200))  # written after the rename, into the rotated file
        writer.close()
        log.write_bytes(_lines(200, 300))
        await wait_for(lambda: len(sink.records) == 300)
        metrics = tail.context.metrics
        await wait_for(lambda: metrics.get("test.0", "files_closed") == 1)
        assert metrics.get("test.0", "files_rotated") == 1
    assert sorted(_numbers(sink)) == list(range(300))
    old = [n for n in _numbers(sink) if n < 200]
    assert old == list(range(200))
    offsets = stored_offsets(tmp_path / "t.db")
    assert offsets[str(log)] == len(_lines(200, 300))


async def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 50))
    sink = Sink()
    async with running(sink, path=str(log), **LIVE) as tail:
        await wait_for(lambda: len(sink.records) == 50)
        (tmp_path / "app.log.1").write_bytes(log.read_bytes())
        with open(log, "r+b") as fh:
            fh.truncate(0)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_truncated") == 1)
        with open(log, "ab") as fh:
            fh.write(_lines(50, 80))
        await wait_for(lambda: len(sink.records) == 80)
    assert _numbers(sink) == list(range(80))


def _copytruncate_unread(log: Path, *, compressed: bool) -> None:
    """Lines 50-80 appended to ``log``, then logrotate's ``copytruncate`` to ``<log>.1``
    (gzipped at once with ``compressed``), then lines 80-90 in the emptied file. Called
    with no await in between, the tail cannot read lines 50-80 before the truncation."""
    with open(log, "ab") as fh:
        fh.write(_lines(50, 80))
    copy = log.with_name(log.name + ".1")
    shutil.copyfile(log, copy)
    _truncate_and_compress(log, copy, compressed)


def _truncate_and_compress(log: Path, copy: Path, compressed: bool) -> None:
    """The rest of a copytruncate once ``copy`` is made: ``log`` emptied, the copy gzipped
    (and removed) with ``compressed``, lines 80-90 in the emptied file."""
    os.truncate(log, 0)
    if compressed:
        copy.with_name(copy.name + ".gz").write_bytes(gzip.compress(copy.read_bytes()))
        copy.unlink()
    with open(log, "ab") as fh:
        fh.write(_lines(80, 90))


@pytest.mark.parametrize(
    ("glob", "compressed", "rescan_between"),
    [
        ("*.log", False, False),
        ("*.log", True, False),
        ("app.log*", False, False),
        ("app.log*", False, True),
        ("app.log*", True, True),
    ],
    ids=["plain", "compressed", "glob-matches-copy", "glob-matches-copy-rescan", "gz-rescan"],
)
async def test_copytruncate_while_running_reads_the_unread_end_from_the_copy(
    tmp_path: Path, glob: str, compressed: bool, rescan_between: bool
) -> None:
    """Lines written just before a ``copytruncate`` that the tail had not read yet are read
    from the copy, once, under the file's tag; the emptied file is read from its head.
    Before, they were lost (as in Fluent Bit). ``Path app.log*`` also matches the copy
    ``app.log.1``, which is not a file of its own either. ``rescan_between``: the copy
    stands, untruncated, through rescans (a big file copied slowly); before, a rescan then
    read it from its head (lines 0-79 twice)."""
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 50))
    sink = Sink()
    async with running(sink, path=f"{tmp_path}/{glob}", db=str(tmp_path / "t.db"), **LIVE):
        await wait_for(lambda: len(sink.records) == 50)
        tags = {chunk.tag for chunk in sink.chunks}
        if rescan_between:
            with open(log, "ab") as fh:
                fh.write(_lines(50, 80))
            copy = log.with_name("app.log.1")
            shutil.copyfile(log, copy)
            await asyncio.sleep(0.8)  # four rescans
            _truncate_and_compress(log, copy, compressed)
        else:
            _copytruncate_unread(log, compressed=compressed)
        await wait_for(lambda: len(sink.records) >= 90)
        await asyncio.sleep(0.8)
    assert sorted(_numbers(sink)) == list(range(90))
    assert {chunk.tag for chunk in sink.chunks} == tags


async def test_a_copy_being_written_waits_and_a_generation_of_other_lines_is_read(
    tmp_path: Path,
) -> None:
    """Beside a file being read, a new file the glob matches, named as its generation: while
    it holds only the file's first bytes (logrotate still copying) it is not opened; once it
    is the whole copy, the truncation reads on in it. One holding other lines is a file of
    its own and is read from its head, also one that begins as the file does."""
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 50))
    sink = Sink()
    async with running(sink, path=f"{tmp_path}/app.log*", db=str(tmp_path / "t.db"), **LIVE):
        await wait_for(lambda: len(sink.records) == 50)
        copy = log.with_name("app.log.1")
        copy.write_bytes(log.read_bytes()[:100])
        await asyncio.sleep(0.8)  # four rescans
        assert len(sink.records) == 50
        copy.write_bytes(log.read_bytes())
        await asyncio.sleep(0.8)
        os.truncate(log, 0)
        with open(log, "ab") as fh:
            fh.write(_lines(50, 60))
        await wait_for(lambda: len(sink.records) >= 60)
        log.with_name("app.log.2").write_bytes(_lines(1000, 1010))
        await wait_for(lambda: len(sink.records) >= 70)
        # Another of the app's files, named alike, begins as this one does and goes on
        # otherwise: it is no copy, though shorter than what was acknowledged of it.
        log.with_name("app.log-debug").write_bytes(_lines(50, 60) + _lines(2000, 2003))
        await wait_for(lambda: len(sink.records) >= 83)
        await asyncio.sleep(0.8)
    assert sorted(_numbers(sink)) == sorted(
        [*range(60), *range(1000, 1010), *range(50, 60), *range(2000, 2003)]
    )


@pytest.mark.parametrize("compressed", [False, True])
async def test_copytruncate_while_running_then_a_stop_reads_the_copy_from_its_checkpoint(
    tmp_path: Path, compressed: bool
) -> None:
    """What was read from the copy but not acknowledged when the agent stopped is read from
    the copy again at the next start, from its checkpoint: the copy's row took the file's
    checkpoint. Before, the row started over for the emptied file and those lines were
    never read."""
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 50))
    path, db = f"{tmp_path}/*.log", str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=path, db=db, **LIVE) as tail:
        await wait_for(lambda: len(first.records) == 50)
        first.hold = True
        _copytruncate_unread(log, compressed=compressed)
        await wait_for(lambda: len(first.records) >= 90)
        assert tail.context.metrics.get("test.0", "files_copytruncated") == 1
    second = Sink()
    async with running(second, path=path, db=db, **LIVE):
        await wait_for(lambda: len(second.records) >= 40)
        await asyncio.sleep(0.5)
    assert sorted(_numbers(second)) == list(range(50, 90))


@pytest.mark.parametrize(
    ("copy_name", "compressed"),
    [("app.log.1", False), ("app.log.1", True), ("app-1.log", False)],
    ids=["plain", "compressed", "matched-by-the-glob"],
)
async def test_copytruncate_while_down_reads_the_copy_from_the_checkpoint(
    tmp_path: Path, copy_name: str, compressed: bool
) -> None:
    """logrotate's ``copytruncate`` while the agent is down (with ``compress``, the copy is
    gzipped at once): the lines written after the checkpoint are read from the copy, from
    the checkpoint, under the file's tag; the emptied file is read from its head. The copy
    used to be read from its head (its first 100 lines a second time, past the outputs'
    exactly-once watermarks); a gzipped copy already was read from the checkpoint. So is a
    copy the glob matches (logrotate's ``dateext`` with ``extension .log``), whose name
    sorts before the file's: it was opened first, as a file of its own, from its head."""
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    path, db = str(tmp_path / "*.log"), str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=path, db=db, **LIVE):
        await wait_for(lambda: len(first.records) == 100)
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    copy = tmp_path / copy_name
    copy.write_bytes(log.read_bytes())
    with open(log, "r+b") as fh:
        fh.truncate(0)
    if compressed:
        copy.with_name(copy_name + ".gz").write_bytes(gzip.compress(copy.read_bytes()))
        copy.unlink()
    with open(log, "ab") as fh:
        fh.write(_lines(120, 130))
    second = Sink()
    async with running(second, path=path, db=db, **LIVE):
        await wait_for(lambda: len(second.records) == 30)
        await asyncio.sleep(0.5)
    assert sorted(_numbers(second)) == list(range(100, 130))
    assert {chunk.tag for chunk in second.chunks} == {chunk.tag for chunk in first.chunks}


async def test_shrink_is_read_again_from_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 30))
    sink = Sink()
    async with running(sink, path=str(log), **LIVE):
        await wait_for(lambda: len(sink.records) == 30)
        log.write_bytes(_lines(30, 32))  # same inode, now shorter than what was read
        await wait_for(lambda: len(sink.records) == 32)
    assert _numbers(sink) == list(range(32))


async def test_delete_while_open_reads_to_end_and_forgets_row(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    writer = open(log, "ab", buffering=0)  # noqa: SIM115
    writer.write(_lines(0, 10))
    db = tmp_path / "t.db"
    sink = Sink()
    async with running(sink, path=str(log), db=str(db), **LIVE) as tail:
        await wait_for(lambda: len(sink.records) == 10)
        os.unlink(log)
        writer.write(_lines(10, 25))
        writer.close()
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 1)
    assert _numbers(sink) == list(range(25))
    assert stored_offsets(db) == {}


async def test_restart_resumes_at_acknowledged_offset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    db = str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=str(log), db=db, **LIVE):
        await wait_for(lambda: len(first.records) == 100)
    with open(log, "ab") as fh:
        fh.write(_lines(100, 150))
    second = Sink()
    async with running(second, path=str(log), db=db, **LIVE):
        await wait_for(lambda: len(second.records) == 50)
        await asyncio.sleep(0.3)
    assert _numbers(second) == list(range(100, 150))


async def test_rotated_while_down_is_found_beside_and_read(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(_lines(0, 100))
    db = str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=f"{tmp_path}/*.log", db=db, **LIVE):
        await wait_for(lambda: len(first.records) == 100)
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    os.rename(log, tmp_path / "0.log.20261127-101500")
    log.write_bytes(_lines(120, 150))
    second = Sink()
    async with running(second, path=f"{tmp_path}/*.log", db=db, **LIVE) as tail:
        await wait_for(lambda: len(second.records) == 50)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 1)
    assert sorted(_numbers(second)) == list(range(100, 150))
    # The rotated file's row is kept (under its new name) while it exists.
    rotated = tmp_path / "0.log.20261127-101500"
    assert stored_offsets(Path(db)) == {
        str(log): log.stat().st_size,
        str(rotated): rotated.stat().st_size,
    }


async def test_inode_reuse_or_rewrite_while_down_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 20))
    db = str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=str(log), db=db, **LIVE):
        await wait_for(lambda: len(first.records) == 20)
    with open(log, "r+b") as fh:  # same inode, other content, longer than the checkpoint
        fh.truncate(0)
        fh.write(_lines(1000, 1040))
    second = Sink()
    async with running(second, path=str(log), db=db, **LIVE) as tail:
        await wait_for(lambda: len(second.records) == 40)
        assert tail.context.metrics.get("test.0", "checkpoint_mismatch") == 1
    assert _numbers(second) == list(range(1000, 1040))


async def test_withheld_acks_do_not_move_the_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 100))
    db = tmp_path / "t.db"
    sink = Sink(hold=True)
    async with running(sink, path=str(log), db=str(db), **LIVE):
        await wait_for(lambda: len(sink.records) == 100)
        await asyncio.sleep(1.2)  # longer than the persist interval
    assert stored_offsets(db) == {str(log): 0}
    # A restart re-reads what was never acknowledged.
    again = Sink()
    async with running(again, path=str(log), db=str(db), **LIVE):
        await wait_for(lambda: len(again.records) == 100)
    assert stored_offsets(db) == {str(log): len(_lines(0, 100))}


async def test_release_of_held_acks_moves_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 10))
    db = tmp_path / "t.db"
    sink = Sink(hold=True)
    async with running(sink, path=str(log), db=str(db), **LIVE) as tail:
        await wait_for(lambda: len(sink.records) == 10)
        lag = ("test.0", "offset_lag_bytes", (("file", str(log)),))
        assert tail.context.metrics.gauges()[lag] == len(_lines(0, 10))
        sink.release()
        assert tail.context.metrics.gauges()[lag] == 0
    assert stored_offsets(db) == {str(log): len(_lines(0, 10))}


async def test_failed_ack_keeps_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 10))
    db = tmp_path / "t.db"
    sink = Sink(fail=True)
    async with running(sink, path=str(log), db=str(db), **LIVE) as tail:
        await wait_for(lambda: len(sink.records) == 10)
        with open(log, "ab") as fh:
            fh.write(_lines(10, 20))
        await wait_for(lambda: len(sink.records) == 20)
        assert tail.context.metrics.get("test.0", "ack_failed") >= 1
    assert stored_offsets(db) == {str(log): 0}


async def test_mem_buf_limit_pauses_until_acks_arrive(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(_lines(0, 200_000))  # ~2.5 MB
    sink = Sink(hold=True)
    async with running(sink, path=str(log), mem_buf_limit="600k", **LIVE):
        await wait_for(lambda: len(sink.chunks) > 0)
        await asyncio.sleep(0.5)
        paused_at = len(sink.records)
        assert paused_at < 200_000
        while len(sink.records) < 200_000:
            sink.release()
            await asyncio.sleep(0.05)
        sink.release()
    assert _numbers(sink) == list(range(200_000))


def _kubelet_node(tmp_path: Path) -> Path:
    """kubelet's layout: the glob matches a link in ``containers/`` naming the container's
    ``0.log`` under ``pods/``, where kubelet rotates it; returns that file."""
    pods = tmp_path / "pods" / "shop_orders-1_uid" / "app"
    pods.mkdir(parents=True)
    (tmp_path / "containers").mkdir()
    link = tmp_path / "containers" / "orders-1_shop_app-0123abcd.log"
    link.symlink_to(pods / "0.log")
    return pods / "0.log"


KUBE = {**LIVE, "tag": "kube.*"}


async def test_kubelet_layout_rotated_while_down_is_found_beside_the_file_the_link_names(
    tmp_path: Path,
) -> None:
    log = _kubelet_node(tmp_path)
    log.write_bytes(_lines(0, 100))
    path, db = f"{tmp_path}/containers/*.log", str(tmp_path / "t.db")
    first = Sink()
    async with running(first, path=path, db=db, **KUBE):
        await wait_for(lambda: len(first.records) == 100)
    tag = first.chunks[0].tag
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    os.rename(log, log.with_name("0.log.20261127-101500"))
    log.write_bytes(_lines(120, 140))
    os.rename(log, log.with_name("0.log.20261127-101600"))  # never seen by the agent
    log.write_bytes(_lines(140, 150))
    # kubelet compresses older generations: bytes that are not lines, never read.
    log.with_name("0.log.20261127-101500.gz").write_bytes(b"\x1f\x8b\x08\x00line 9999\n")
    second = Sink()
    async with running(second, path=path, db=db, path_key="file", **KUBE) as tail:
        await wait_for(lambda: len(second.records) == 50)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 2)
        await asyncio.sleep(0.3)
    assert sorted(_numbers(second)) == list(range(100, 150))
    assert {chunk.tag for chunk in second.chunks} == {tag}


async def test_kubelet_layout_rotation_seen_then_a_restart_reads_what_was_not_acknowledged(
    tmp_path: Path,
) -> None:
    """The rotation is seen while running, nothing is acknowledged, the agent stops: the
    next start finds the rotated file under its new name and reads it under the link's
    tag."""
    log = _kubelet_node(tmp_path)
    writer = open(log, "ab", buffering=0)  # noqa: SIM115 - the app keeps its fd across rotation
    writer.write(_lines(0, 100))
    path, db = f"{tmp_path}/containers/*.log", str(tmp_path / "t.db")
    first = Sink(hold=True)
    async with running(first, path=path, db=db, **KUBE) as tail:
        await wait_for(lambda: len(first.records) == 100)
        os.rename(log, log.with_name("0.log.20261127-101500"))
        writer.write(_lines(100, 110))
        writer.close()
        log.write_bytes(_lines(110, 120))
        await wait_for(lambda: len(first.records) == 120)
        assert tail.context.metrics.get("test.0", "files_rotated") == 1
    tag = first.chunks[0].tag
    second = Sink()
    async with running(second, path=path, db=db, **KUBE):
        await wait_for(lambda: len(second.records) == 120)
        await asyncio.sleep(0.3)
    assert sorted(_numbers(second)) == list(range(120))
    assert {chunk.tag for chunk in second.chunks} == {tag}


async def _read_by_a_first_run(
    tmp_path: Path, lines: int, db_name: str = "t.db", word: bytes = b"line"
) -> tuple[Sink, Path]:
    """kubelet's layout with ``lines`` lines in the container's log, read to the end and
    acknowledged by a run that then stops; that run's sink, and the log."""
    log = _kubelet_node(tmp_path)
    log.write_bytes(_lines(0, lines, word))
    first = Sink()
    async with running(first, path=_glob(tmp_path), db=str(tmp_path / db_name), **KUBE):
        await wait_for(lambda: len(first.records) == lines)
    return first, log


def _glob(tmp_path: Path) -> str:
    return f"{tmp_path}/containers/*.log"


async def _run_to(tmp_path: Path, records: int, settle: float = 0.3) -> Sink:
    """A run over kubelet's layout (DB ``t.db``) that stops once it has ``records``
    records and ``settle`` seconds more, time enough for a record too many to show."""
    sink = Sink()
    async with running(sink, path=_glob(tmp_path), db=str(tmp_path / "t.db"), **KUBE):
        await wait_for(lambda: len(sink.records) == records)
        await asyncio.sleep(settle)
    return sink


def _kubelet_compresses(rotated: Path) -> None:
    """kubelet's compression of a rotated generation: ``<name>.tmp``, renamed to
    ``<name>.gz`` when complete, then the original removed."""
    tmp = rotated.with_name(rotated.name + ".tmp")
    tmp.write_bytes(gzip.compress(rotated.read_bytes()))
    os.rename(tmp, rotated.with_name(rotated.name + ".gz"))
    rotated.unlink()


async def test_kubelet_layout_rotated_and_compressed_while_down_is_read_from_the_gzip(
    tmp_path: Path,
) -> None:
    """The agent stops behind (lines 100-119 unread in 0.log); kubelet rotates it, rotates
    again and gzips the first generation, and is gzipping the second when the agent starts
    (its ``.tmp``): the unread lines come from the ``.gz``, once, under the link's tag, and
    the half-written gzip is not read as lines."""
    first, log = await _read_by_a_first_run(tmp_path, 100, "state/t.db")
    path, db = _glob(tmp_path), str(tmp_path / "state" / "t.db")
    tag = first.chunks[0].tag
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    older, newer = log.with_name("0.log.20261127-101500"), log.with_name("0.log.20261127-101600")
    os.rename(log, older)
    log.write_bytes(_lines(120, 140))
    _kubelet_compresses(older)
    os.rename(log, newer)
    log.write_bytes(_lines(140, 150))
    newer.with_name(newer.name + ".tmp").write_bytes(gzip.compress(newer.read_bytes())[:40])
    second = Sink()
    async with running(second, path=path, db=db, path_key="file", **KUBE) as tail:
        await wait_for(lambda: len(second.records) == 50)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 2)
        await asyncio.sleep(0.3)
        assert tail.context.metrics.get("test.0", "files_recovered") == 2
    assert sorted(_numbers(second)) == list(range(100, 150))
    assert {chunk.tag for chunk in second.chunks} == {tag}
    # As the lines were read before the rotation: under the path the glob matched.
    assert set(second.logs("file")) == {str(next((tmp_path / "containers").iterdir()))}
    # Delivered: the row is gone and nothing of the copy is left in the DB's folder (the
    # DB and its lock file, state_lock.py).
    assert sorted(os.listdir(tmp_path / "state")) == ["t.db", "t.db.lock"]
    assert len(stored_offsets(Path(db))) == 2
    third = Sink()
    async with running(third, path=path, db=db, **KUBE):
        await asyncio.sleep(0.5)
    assert third.records == []


async def test_compressed_generation_read_again_from_its_checkpoint_after_a_restart(
    tmp_path: Path,
) -> None:
    """A restart while the ``.gz`` is being read: the next start finds it again and reads
    from the row's checkpoint, what was delivered is not read again."""
    _, log = await _read_by_a_first_run(tmp_path, 10)
    path, db = _glob(tmp_path), str(tmp_path / "t.db")
    with open(log, "ab") as fh:
        fh.write(_lines(10, 60_000))
    rotated = log.with_name("0.log.20261127-101500")
    os.rename(log, rotated)
    _kubelet_compresses(rotated)
    log.write_bytes(b"")
    second = Sink(hold=True)
    async with running(second, path=path, db=db, **KUBE):
        await wait_for(lambda: len(second.chunks) >= 2)
        # Only the first chunk is delivered before the agent stops.
        second.held[0].ack.settle(True)
        delivered = len(second.chunks[0].events)
        await asyncio.sleep(1.2)  # the checkpoint is written every second
    assert 0 < delivered < 59_990
    third = Sink()
    async with running(third, path=path, db=db, **KUBE) as tail:
        await wait_for(lambda: len(third.records) == 59_990 - delivered)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 1)
        await asyncio.sleep(0.3)
    assert _numbers(third) == list(range(10 + delivered, 60_000))


async def test_a_gzip_that_does_not_hold_what_was_read_is_not_read(tmp_path: Path) -> None:
    """Another content under a generation's name (its first bytes differ): nothing of it is
    taken for the file the row describes."""
    _, log = await _read_by_a_first_run(tmp_path, 100)
    rotated = log.with_name("0.log.20261127-101500")
    os.rename(log, rotated)
    rotated.unlink()
    rotated.with_name(rotated.name + ".gz").write_bytes(gzip.compress(_lines(500, 700)))
    log.write_bytes(_lines(700, 710))
    second = await _run_to(tmp_path, 10, settle=0.5)
    assert _numbers(second) == list(range(700, 710))


async def test_a_gzip_that_cannot_be_decompressed_now_is_tried_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No room for the decompressed copy (a full disk): one warning, the row is kept, and
    the next start reads the lines."""
    _, log = await _read_by_a_first_run(tmp_path, 100)
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    rotated = log.with_name("0.log.20261127-101500")
    os.rename(log, rotated)
    _kubelet_compresses(rotated)
    log.write_bytes(_lines(120, 130))

    def disk_full(path: str, folder: str, keep_from: int) -> tuple[int, str | None]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(gzip_recovery, "decompressed_copy", disk_full)
        second = await _run_to(tmp_path, 10)
    assert _numbers(second) == list(range(120, 130))
    warnings = [r.getMessage() for r in caplog.records if "cannot decompress" in r.getMessage()]
    assert len(warnings) == 1
    assert "No space left on device; trying again at the next start" in warnings[0]
    third = await _run_to(tmp_path, 20)
    assert _numbers(third) == list(range(100, 120))


async def test_a_generation_read_to_its_end_is_not_decompressed_when_gzipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its row stays while the rotated file exists; once kubelet gzipped it, the trailer's
    size says nothing is left: the next start drops the row without inflating the gzip."""
    log = _kubelet_node(tmp_path)
    writer = open(log, "ab", buffering=0)  # noqa: SIM115 - the app keeps its fd across rotation
    writer.write(_lines(0, 100))
    path, db = f"{tmp_path}/containers/*.log", str(tmp_path / "t.db")
    rotated = log.with_name("0.log.20261127-101500")
    first = Sink()
    async with running(first, path=path, db=db, **KUBE) as tail:
        await wait_for(lambda: len(first.records) == 100)
        os.rename(log, rotated)
        writer.close()
        log.write_bytes(_lines(100, 110))
        await wait_for(lambda: len(first.records) == 110)
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_closed") == 1)
    assert len(stored_offsets(Path(db))) == 2  # the rotated file's row, kept while it exists
    _kubelet_compresses(rotated)

    def not_called(path: str, folder: str, keep_from: int) -> tuple[int, str | None]:
        raise AssertionError(f"{path} was inflated")

    monkeypatch.setattr(gzip_recovery, "decompressed_copy", not_called)
    second = Sink()
    async with running(second, path=path, db=db, **KUBE):
        await asyncio.sleep(0.5)
    assert second.records == []
    assert len(stored_offsets(Path(db))) == 1


async def test_rows_of_rotated_files_go_once_kubelet_removed_them(tmp_path: Path) -> None:
    """A rotated file read to its end keeps its row while it exists; once kubelet gzips and
    removes it, the row goes within a rescan, not at the next start: rows (memory, the DB,
    every lookup by inode) stay as many as the files, however long the agent runs."""
    log = _kubelet_node(tmp_path)
    log.write_bytes(b"")
    sink = Sink()
    async with running(sink, path=_glob(tmp_path), db=str(tmp_path / "t.db"), **KUBE) as tail:
        for n in range(12):
            with open(log, "ab") as fh:
                fh.write(_lines(n * 10, n * 10 + 10))
            await wait_for(lambda n=n: len(sink.records) == n * 10 + 10)
            for older in log.parent.glob("0.log.*[0-9]"):
                _kubelet_compresses(older)
            os.rename(log, log.with_name(f"0.log.20261127-1015{n:02d}"))
            log.write_bytes(b"")
            await wait_for(lambda n=n: tail.context.metrics.get("test.0", "files_closed") == n + 1)
        await asyncio.sleep(0.5)  # a rescan or two
        assert len(tail.store.rows) <= 3
    assert sorted(_numbers(sink)) == list(range(120))


@pytest.mark.parametrize("empty_when_opened", [False, True])
async def test_a_generation_held_back_unread_is_read_from_its_gzip_after_a_restart(
    tmp_path: Path, empty_when_opened: bool
) -> None:
    """An outage holds the input back (``Mem_Buf_Limit``): the file kubelet rotates in is
    opened but nothing of it is read. The agent stops; kubelet rotates twice more and gzips
    that generation. The next start finds it in its ``.gz`` by its first bytes, taken when
    it was opened or, opened empty, when it was next looked at (they used to be taken only
    when its first chunk was delivered, so its row matched no gzip and its lines were
    lost)."""
    log = _kubelet_node(tmp_path)
    writer = open(log, "ab", buffering=0)  # noqa: SIM115 - the app keeps its fd across rotation
    writer.write(_lines(0, 100))
    first = Sink(hold=True)
    async with running(
        first, path=_glob(tmp_path), db=str(tmp_path / "t.db"), mem_buf_limit="100", **KUBE
    ) as tail:
        await wait_for(lambda: len(first.records) == 100)
        os.rename(log, log.with_name("0.log.20261127-101500"))
        writer.close()
        log.write_bytes(b"" if empty_when_opened else _lines(100, 200))
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_opened") == 2)
        if empty_when_opened:
            with open(log, "ab") as fh:
                fh.write(_lines(100, 200))
        await asyncio.sleep(1.2)  # past the persist interval
        assert len(first.records) == 100
    for n, (start, stop) in enumerate(((200, 220), (220, 230)), start=16):
        for older in log.parent.glob("0.log.*[0-9]"):
            _kubelet_compresses(older)
        os.rename(log, log.with_name(f"0.log.20261127-10{n}00"))
        log.write_bytes(_lines(start, stop))
    assert len(list(log.parent.glob("0.log.*.gz"))) == 2
    second = await _run_to(tmp_path, 230)
    assert sorted(_numbers(second)) == list(range(230))


def _kubelet_rotates(log: Path, stamp: str, lines: bytes) -> None:
    """One rotation by kubelet: older generations gzipped, the log renamed to
    ``0.log.<stamp>``, a new log with ``lines``."""
    for older in sorted(log.parent.glob("0.log.*[0-9]")):
        _kubelet_compresses(older)
    os.rename(log, log.with_name(f"0.log.{stamp}"))
    log.write_bytes(lines)


async def _three_rotations_while_down(tmp_path: Path, word: bytes = b"line") -> Path:
    """A first run reads lines 0-99 and stops; 100-119 are written, and kubelet rotates
    three times (generations of 120-139 and 140-159, the log 160-169); the log."""
    _, log = await _read_by_a_first_run(tmp_path, 100, word=word)
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120, word))
    _kubelet_rotates(log, "20261127-101500", _lines(120, 140, word))
    _kubelet_rotates(log, "20261127-101600", _lines(140, 160, word))
    _kubelet_rotates(log, "20261127-101700", _lines(160, 170, word))
    return log


@pytest.mark.parametrize("word", [b"line", LONG], ids=["short-lines", "long-repeated-lines"])
async def test_a_generation_born_and_compressed_while_down_is_read_from_its_gzip(
    tmp_path: Path, word: bytes
) -> None:
    """Three rotations while the agent is down: the generation born after it stopped is
    gzipped before it starts, and no row knows it. It comes after the ``.gz`` of the row's
    content, so it is read from its head, once (it was lost before); a start after that
    reads nothing again. Also when every line begins with the same 300 bytes: the first
    256 bytes of each generation are then alike, and the one born while down was taken
    for the row's own (lost) until a long first line became a head whole."""
    log = await _three_rotations_while_down(tmp_path, word)
    assert len(list(log.parent.glob("0.log.*.gz"))) == 2
    second = await _run_to(tmp_path, 70)
    assert sorted(_numbers(second)) == list(range(100, 170))
    third = await _run_to(tmp_path, 0, settle=0.5)
    assert third.records == []


async def test_a_file_opened_just_before_a_stop_and_gzipped_while_down_is_read(
    tmp_path: Path,
) -> None:
    """kubelet rotates just before the agent stops: the new log is opened empty, so its row
    has no first bytes to be found by. Written to, rotated and gzipped while the agent is
    down, it comes after the ``.gz`` of the generation before it and is read from its
    head (those lines were lost before)."""
    log = _kubelet_node(tmp_path)
    writer = open(log, "ab", buffering=0)  # noqa: SIM115 - the app keeps its fd across rotation
    writer.write(_lines(0, 100))
    first = Sink()
    async with running(first, path=_glob(tmp_path), db=str(tmp_path / "t.db"), **KUBE) as tail:
        await wait_for(lambda: len(first.records) == 100)
        os.rename(log, log.with_name("0.log.20261127-101500"))
        writer.close()
        log.write_bytes(b"")
        await wait_for(lambda: tail.context.metrics.get("test.0", "files_opened") == 2)
        await asyncio.sleep(1.2)  # past the persist interval
    with open(log, "ab") as fh:
        fh.write(_lines(100, 120))
    _kubelet_rotates(log, "20261127-101600", _lines(120, 130))
    _kubelet_rotates(log, "20261127-101700", _lines(130, 140))
    second = await _run_to(tmp_path, 40)
    assert sorted(_numbers(second)) == list(range(100, 140))


@pytest.mark.parametrize(
    ("done_as", "read_again"),
    [("0.log.20261127-101600", False), (None, False), ("/var/log/other/0.log", True)],
    ids=["its-own-name", "no-name", "another-path"],
)
async def test_a_gzip_whose_content_was_read_to_its_end_is_not_read_again(
    tmp_path: Path, done_as: str | None, read_again: bool
) -> None:
    """A ``.gz`` newer than the row's whose first bytes are those of a content read to its
    end before (``logtide_done``: the agent was behind, and finished that generation first)
    is not taken for one born while the agent was down. A head kept without a name (by an
    older logtide) stands for any path; one of another path's file does not: two paths'
    files may begin alike, and the generation was lost when it did."""
    log = await _three_rotations_while_down(tmp_path)
    head = _lines(120, 140)[:FINGERPRINT_BYTES]
    name = done_as if done_as is None or done_as.startswith("/") else str(log.parent / done_as)
    with contextlib.closing(sqlite3.connect(tmp_path / "t.db")) as con, con:
        con.execute(
            "INSERT INTO logtide_done (name, head_length, head_digest) VALUES (?, ?, ?)",
            (name, len(head), digest(head)),
        )
    second = await _run_to(tmp_path, 70 if read_again else 50)
    expected = range(100, 170) if read_again else [*range(100, 120), *range(140, 170)]
    assert sorted(_numbers(second)) == list(expected)


async def test_on_a_first_start_no_gzip_is_read(tmp_path: Path) -> None:
    """With no row and nothing read before, nothing tells which ``.gz`` are new: none is
    read, and ``Read_from_Head On`` reads the file the glob matches (as Fluent Bit does)."""
    log = _kubelet_node(tmp_path)
    log.write_bytes(_lines(0, 10))
    _kubelet_rotates(log, "20261127-101500", _lines(10, 20))
    _kubelet_rotates(log, "20261127-101600", _lines(20, 30))
    first = await _run_to(tmp_path, 10, settle=0.5)
    assert _numbers(first) == list(range(20, 30))
