"""The cloudwatch_logs journal is one process's: a second agent on the same state folder
neither reads nor rewrites it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logtide.sinks.cloudwatch_logs.journal import Journal
from tests.support.flock_holder import hold, other_gets_it


def test_a_journal_another_process_holds_does_not_open(tmp_path: Path) -> None:
    """Another process holding ``<journal>.lock`` (a second agent on the same state folder):
    the journal does not open, and nothing of the file is read or rewritten; ``close``
    lets the lock go. A journal that fails to open lets it go too."""
    path = tmp_path / "cw" / "out.journal"
    first = Journal(path)
    first.open()
    first.write(
        first.prepare(
            [(("g", "s"), orjson.dumps([{"timestamp": 1, "message": "x"}]))], [("m", 10)], ()
        )
    )
    before = path.read_bytes()
    lock_file = path.with_name("out.journal.lock")
    assert not other_gets_it(lock_file)
    second = Journal(path)
    with pytest.raises(BlockingIOError, match="in use by another logtide process"):
        second.open()
    assert path.read_bytes() == before
    first.close()
    assert other_gets_it(lock_file)
    holder = hold(lock_file)
    try:
        with pytest.raises(BlockingIOError):
            Journal(path).open()
    finally:
        holder.communicate("")
    path.unlink()
    path.mkdir()  # not a file: reading it fails
    with pytest.raises(IsADirectoryError):
        Journal(path).open()
    assert other_gets_it(lock_file)
