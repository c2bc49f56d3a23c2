"""The systemd input's cursor writer: a cursor the DB refuses is written at the next try,
with one line for the whole episode."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from logtide.agent.inputs.systemd.gate import CursorGate
from logtide.agent.inputs.systemd.input import SystemdInput
from tests.support.journal import stored_cursor
from tests.support.plugins import build, plugin_context


async def test_a_refused_cursor_write_is_written_at_the_next_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "systemd.db"
    async with plugin_context() as context:
        plugin = build(SystemdInput, context, DB=str(db))
        plugin.store.open()
        plugin.gate = CursorGate("s=1")
        real = plugin.store.write
        refusals = [sqlite3.OperationalError("database is locked")] * 2

        def write(cursor: str) -> None:
            if refusals:
                raise refusals.pop()
            real(cursor)

        plugin.store.write = write  # type: ignore[method-assign]
        for _ in range(2):
            await plugin.persist()
            assert plugin.written is None and stored_cursor(db) is None
        await plugin.persist()
        assert plugin.written == "s=1" and stored_cursor(db) == "s=1"
        plugin.store.close()
    lines = [r.getMessage() for r in caplog.records if "cursor DB" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "failed: database is locked; retrying every 1s" in lines[0]
    assert "entries after it are read again after a restart" in lines[0]
    assert lines[1].endswith("works again")
