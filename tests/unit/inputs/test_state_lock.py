"""One process per state DB: a second process's store waits (StateHeld, retried by
open_when_possible); inputs of one process share the lock; the last close lets it go."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logtide.agent.core.errors import PluginError
from logtide.agent.inputs import state_lock
from logtide.agent.inputs.systemd.cursor_db import CursorStore
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore

# Another process: takes the lock without waiting, says whether it got it, then holds it
# until its stdin closes.
_OTHER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("refused", flush=True)
    sys.exit(0)
print("took", flush=True)
sys.stdin.read()
"""


def _other(lock_file: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OTHER, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc


def _other_gets_it(lock_file: Path) -> bool:
    proc = _other(lock_file)
    assert proc.stdout is not None
    answer = proc.stdout.readline().strip()
    proc.communicate("")
    return answer == "took"


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_inputs_of_one_process_share_it_and_the_last_close_lets_it_go(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    db = tmp_path / "state" / "tail.db"
    first, second = store_type(str(db)), store_type(str(db))
    first.open()
    second.open()
    lock_file = tmp_path / "state" / "tail.db.lock"
    assert not _other_gets_it(lock_file)
    first.close()
    assert not _other_gets_it(lock_file)
    second.close()
    assert _other_gets_it(lock_file)


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_a_db_another_process_holds_raises_for_a_retry_then_opens(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    db = tmp_path / "tail.db"
    holder = _other(tmp_path / "tail.db.lock")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "took"
    store = store_type(str(db))
    try:
        with pytest.raises(state_lock.StateHeld, match=r"tail\.db\.lock is locked"):
            store.open()
    finally:
        holder.communicate("")
    store.open()  # the holder ended: nothing of the failed try is left held
    store.close()
    assert _other_gets_it(tmp_path / "tail.db.lock")


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_an_in_memory_db_takes_no_lock_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_type: type[CheckpointStore] | type[CursorStore],
) -> None:
    monkeypatch.chdir(tmp_path)
    store = store_type(":memory:")
    store.open()
    store.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_a_db_that_fails_to_open_lets_the_lock_go(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    not_a_db = tmp_path / "tail.db"
    not_a_db.write_text("not a database\n" * 100)
    with pytest.raises(PluginError, match="cannot open DB"):
        store_type(str(not_a_db)).open()
    assert _other_gets_it(tmp_path / "tail.db.lock")
