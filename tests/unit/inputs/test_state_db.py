"""An input's state DB that cannot be opened yet (locked elsewhere, a full disk) is tried
again with one warning line; one that can never open (not a DB) is an error at once."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest

from logtide.agent.core.errors import PluginError
from logtide.agent.core.notices import FailureNotice
from logtide.agent.inputs.state_db import open_when_possible, transient
from logtide.agent.inputs.systemd.cursor_db import CursorStore
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore


def _coded(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(f"result code {code}")
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("code", "retried"),
    [
        (5, True),  # SQLITE_BUSY
        (6, True),  # SQLITE_LOCKED
        (13, True),  # SQLITE_FULL
        (10, True),  # SQLITE_IOERR
        (4874, True),  # SQLITE_IOERR_SHMSIZE
        (26, False),  # SQLITE_NOTADB
        (14, False),  # SQLITE_CANTOPEN
        (8, False),  # SQLITE_READONLY
    ],
)
def test_which_failures_may_pass(code: int, retried: bool) -> None:
    assert transient(_coded(code)) is retried


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_a_db_locked_elsewhere_raises_for_a_retry_and_a_non_db_is_an_error(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    db = tmp_path / "state.db"
    first = store_type(str(db))
    first.open()
    first.close()
    with contextlib.closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as holder:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("COMMIT")
        locked = store_type(str(db))
        with pytest.raises(sqlite3.OperationalError, match="locked") as raised:
            _open_without_waiting(locked)
        assert transient(raised.value)
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("not a database\n" * 100)
    with pytest.raises(PluginError, match="cannot open DB"):
        store_type(str(not_a_db)).open()


def _open_without_waiting(store: CheckpointStore | CursorStore) -> None:
    """``store.open()`` with SQLite's busy wait cut from 5 s to none."""
    real = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        return real(*args, **{**kwargs, "timeout": 0})  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", connect)
        store.open()


async def test_open_when_possible_waits_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    failures = [_coded(5), _coded(13)]
    calls = 0

    async def open_db() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop()
        return "opened"

    notice = FailureNotice(logging.getLogger("test"), "tail: opening DB x", "nothing is read")
    with caplog.at_level(logging.WARNING):
        assert await open_when_possible(open_db, notice, 0.01) == "opened"
    assert calls == 3
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == (
        "tail: opening DB x failed: result code 13; retrying every 0.01s (nothing is read)"
    )
    assert lines[-1] == "tail: opening DB x works again"


async def test_open_when_possible_gives_up_at_once_on_a_lasting_failure() -> None:
    async def open_db() -> None:
        raise _coded(26)

    notice = FailureNotice(logging.getLogger("test"), "x", "y")
    with pytest.raises(sqlite3.OperationalError):
        await open_when_possible(open_db, notice, 0.01)
