"""The cursor of the last delivered journal entry, in Fluent Bit's SQLite layout.

One row in ``in_systemd_cursor`` (cursor, updated), the table Fluent Bit's in_systemd keeps, so
a DB Fluent Bit left is resumed as is. This module only stores; when the cursor may move is
decided by :mod:`logtide.agent.inputs.systemd.gate`. Every call may block (fsync), so the
input runs them in a worker thread.
"""

from __future__ import annotations

import sqlite3
import time

from logtide.agent.inputs.state_db import HeldDB, open_held

_SCHEMA = "CREATE TABLE IF NOT EXISTS in_systemd_cursor (cursor TEXT NOT NULL, updated INTEGER)"


class CursorStore:
    """The DB file (``None``: no DB, nothing survives a restart)."""

    def __init__(self, path: str | None, sync: str = "normal") -> None:
        self.path = path
        self.sync = sync
        self._held: HeldDB | None = None

    def open(self) -> str | None:
        """Open (creating) the DB; the stored cursor, if any."""
        if not self.path:
            return None
        self._held, rows = open_held(self.path, "systemd", self._prepare)
        if len(rows) > 1:
            # Fluent Bit keeps the newest row of a table that grew more than one.
            keep = max(rows)[0]
            self._held.conn.execute("DELETE FROM in_systemd_cursor WHERE rowid != ?", (keep,))
            rows = [row for row in rows if row[0] == keep]
        return str(rows[0][1]) if rows and rows[0][1] else None

    def _prepare(self, db: sqlite3.Connection) -> list[tuple[int, str]]:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        db.execute(_SCHEMA)
        return db.execute("SELECT rowid, cursor FROM in_systemd_cursor").fetchall()

    def write(self, cursor: str) -> None:
        if self._held is None:
            return
        db = self._held.conn
        now = int(time.time())
        if db.execute("UPDATE in_systemd_cursor SET cursor=?, updated=?", (cursor, now)).rowcount:
            return
        db.execute("INSERT INTO in_systemd_cursor (cursor, updated) VALUES (?, ?)", (cursor, now))

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
