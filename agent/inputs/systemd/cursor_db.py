"""The cursor of the last delivered journal entry, in Fluent Bit's SQLite layout.

One row in ``in_systemd_cursor`` (cursor, updated), the table Fluent Bit's in_systemd keeps, so
a DB Fluent Bit left is resumed as is. This module only stores; when the cursor may move is
decided by :mod:`logtide.agent.inputs.systemd.gate`. Every call may block (fsync), so the
input runs them in a worker thread.
"""

from __future__ import annotations

import os
import sqlite3
import time

from logtide.agent.core.errors import PluginError
from logtide.agent.inputs import state_lock
from logtide.agent.inputs.state_db import transient

_SCHEMA = "CREATE TABLE IF NOT EXISTS in_systemd_cursor (cursor TEXT NOT NULL, updated INTEGER)"


class CursorStore:
    """The DB file (``None``: no DB, nothing survives a restart)."""

    def __init__(self, path: str | None, sync: str = "normal") -> None:
        self.path = path
        self.sync = sync
        self._db: sqlite3.Connection | None = None
        self._lock: str | None = None

    def open(self) -> str | None:
        """Open (creating) the DB; the stored cursor, if any."""
        if not self.path:
            return None
        db: sqlite3.Connection | None = None
        lock: str | None = None
        try:
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
            lock = state_lock.take(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.sync.upper()}")
            db.execute(_SCHEMA)
            rows = db.execute("SELECT rowid, cursor FROM in_systemd_cursor").fetchall()
        except (sqlite3.Error, OSError) as exc:
            if db is not None:
                db.close()
            if lock is not None:
                state_lock.release(lock)
            if isinstance(exc, state_lock.StateHeld) or (
                isinstance(exc, sqlite3.Error) and transient(exc)
            ):
                raise  # the caller tries again (another agent, a full disk, a lock elsewhere)
            raise PluginError(f"systemd: cannot open DB {self.path}: {exc}") from None
        self._db, self._lock = db, lock
        if len(rows) > 1:
            # Fluent Bit keeps the newest row of a table that grew more than one.
            keep = max(rows)[0]
            db.execute("DELETE FROM in_systemd_cursor WHERE rowid != ?", (keep,))
            rows = [row for row in rows if row[0] == keep]
        return str(rows[0][1]) if rows and rows[0][1] else None

    def write(self, cursor: str) -> None:
        db = self._db
        if db is None:
            return
        now = int(time.time())
        if db.execute("UPDATE in_systemd_cursor SET cursor=?, updated=?", (cursor, now)).rowcount:
            return
        db.execute("INSERT INTO in_systemd_cursor (cursor, updated) VALUES (?, ?)", (cursor, now))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            state_lock.release(self._lock)
            self._lock = None
