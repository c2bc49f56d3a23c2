"""One process per state DB: a second process's store waits (StateHeld, retried by
open_when_possible); inputs of one process share the lock; the last close lets it go."""

from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.core.errors import PluginError
from logtide.agent.inputs import state_lock
from logtide.agent.inputs.systemd.cursor_db import CursorStore
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from tests.support.flock_holder import hold, other_gets_it


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_inputs_of_one_process_share_it_and_the_last_close_lets_it_go(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    db = tmp_path / "state" / "tail.db"
    first, second = store_type(str(db)), store_type(str(db))
    first.open()
    second.open()
    lock_file = tmp_path / "state" / "tail.db.lock"
    assert not other_gets_it(lock_file)
    first.close()
    assert not other_gets_it(lock_file)
    second.close()
    assert other_gets_it(lock_file)


@pytest.mark.parametrize("store_type", [CheckpointStore, CursorStore])
def test_a_db_another_process_holds_raises_for_a_retry_then_opens(
    tmp_path: Path, store_type: type[CheckpointStore] | type[CursorStore]
) -> None:
    db = tmp_path / "tail.db"
    holder = hold(tmp_path / "tail.db.lock")
    store = store_type(str(db))
    try:
        with pytest.raises(state_lock.StateHeld, match=r"tail\.db\.lock is locked"):
            store.open()
    finally:
        holder.communicate("")
    store.open()  # the holder ended: nothing of the failed try is left held
    store.close()
    assert other_gets_it(tmp_path / "tail.db.lock")


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
    assert other_gets_it(tmp_path / "tail.db.lock")
