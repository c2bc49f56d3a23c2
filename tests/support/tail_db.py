"""What the tail input stored in its checkpoint ``DB``."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


def stored_offsets(db: Path) -> dict[str, int]:
    """Each file's checkpoint offset, by its name (Fluent Bit's ``in_tail_files`` table).
    Closed on return: a connection left open would keep another from locking the DB."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        return dict(con.execute("SELECT name, offset FROM in_tail_files"))
