"""Which files are opened, and where reading them starts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from logtide.agent.inputs.tail.file_table import FileTable
from tests.support.plugins import plugin_context
from tests.unit.inputs.tail.parts import wire

LINES = b"one\ntwo\n"


def _opened(table: FileTable) -> dict[str, int]:
    return {f.path: f.pos for f in table}


async def test_globs_exclude_path_and_ignore_older(tmp_path: Path) -> None:
    for name in ("a.log", "b.log", "skip.log", "old.log", "c.txt"):
        (tmp_path / name).write_bytes(LINES)
    past = time.time() - 3600
    os.utime(tmp_path / "old.log", (past, past))
    async with plugin_context() as context:
        parts = wire(
            context,
            patterns=[f"{tmp_path}/*.log"],
            excludes=["skip.*"],
            ignore_older=60.0,
        )
        parts.discovery.start(resumed=False)
        assert sorted(_opened(parts.table)) == [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
        assert context.metrics.get("test.0", "files_opened") == 2
        parts.table.close_all()


async def test_read_from_head_off_starts_at_the_end_then_rescans_read_from_head(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.log").write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, patterns=[f"{tmp_path}/*.log"], from_head=False)
        parts.discovery.start(resumed=False)
        assert _opened(parts.table) == {str(tmp_path / "a.log"): len(LINES)}
        (tmp_path / "b.log").write_bytes(LINES)  # appeared after start: all of it is new
        parts.discovery.rescan()
        assert _opened(parts.table)[str(tmp_path / "b.log")] == 0
        parts.table.close_all()


async def test_a_resumed_run_reads_unknown_files_from_their_head(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(LINES)
    async with plugin_context() as context:
        parts = wire(context, patterns=[f"{tmp_path}/*.log"], from_head=False)
        parts.discovery.start(resumed=True)
        assert _opened(parts.table) == {str(tmp_path / "a.log"): 0}
        parts.table.close_all()


async def test_a_checkpoint_is_resumed_only_where_its_fingerprint_matches(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(LINES + b"three\n")
    async with plugin_context() as context:
        parts = wire(context, patterns=[str(log)], from_head=False)
        row = parts.store.create(str(log), os.stat(log).st_ino, len(LINES))
        row.set_fingerprint(LINES)
        parts.discovery.start(resumed=True)
        assert _opened(parts.table) == {str(log): len(LINES)}
        parts.table.close_all()
    async with plugin_context() as context:
        parts = wire(context, patterns=[str(log)], from_head=False)
        row = parts.store.create(str(log), os.stat(log).st_ino, len(LINES))
        row.set_fingerprint(b"ONE\nTWO\n")
        parts.discovery.start(resumed=True)
        assert _opened(parts.table) == {str(log): 0}
        assert context.metrics.get("test.0", "checkpoint_mismatch") == 1
        parts.table.close_all()


async def test_a_file_rotated_while_down_is_read_from_its_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(LINES + b"three\n")
    async with plugin_context() as context:
        parts = wire(context, patterns=[f"{tmp_path}/*.log"])
        row = parts.store.create(str(log), os.stat(log).st_ino, len(LINES))
        os.rename(log, tmp_path / "0.log.1")
        log.write_bytes(b"new\n")
        parts.discovery.start(resumed=True)
        opened = {f.path: f for f in parts.table}
        rotated = opened[str(tmp_path / "0.log.1")]
        assert rotated.row is row and rotated.pos == len(LINES)
        assert rotated.rotated_at is not None
        assert opened[str(log)].pos == 0
        assert context.metrics.get("test.0", "files_recovered") == 1
        parts.table.close_all()


async def test_rows_of_files_gone_while_down_are_forgotten(tmp_path: Path) -> None:
    async with plugin_context() as context:
        parts = wire(context, patterns=[f"{tmp_path}/*.log"])
        parts.store.create(str(tmp_path / "gone.log"), 424242, 10)
        parts.discovery.start(resumed=True)
        assert parts.store.rows == {} and len(parts.table) == 0


async def test_unreadable_files_are_kept_for_the_end_of_the_run(tmp_path: Path) -> None:
    loop = tmp_path / "loop.log"
    os.symlink(tmp_path / "other.log", loop)
    os.symlink(loop, tmp_path / "other.log")  # opening either fails, even as root
    async with plugin_context() as context:
        parts = wire(context, to_end=True)
        assert parts.discovery.open(str(loop), from_head=True) is None
        assert parts.discovery.open(str(tmp_path / "missing.log"), from_head=True) is None
        # Gone since the scan is not an error: there is nothing of it left to read.
        assert list(parts.discovery.unreadable) == [str(loop)]
    async with plugin_context() as context:
        parts = wire(context, to_end=False)
        assert parts.discovery.open(str(loop), from_head=True) is None
        assert parts.discovery.unreadable == {}  # a live run logs it and goes on
