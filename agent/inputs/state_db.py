"""Opening an input's state DB (tail's checkpoints, systemd's cursor) when it cannot be
opened yet: another agent holds it (:mod:`~logtide.agent.inputs.state_lock`), another
process holds SQLite's lock, or the disk is full. The DaemonSet's state
folder is on the node's disk, so a restart while that disk is full is a real case; giving
up there would leave the input stopped for the rest of the run while its logs rotate away.
Such a DB is tried again until it opens, with one warning line (and one when it opens);
any other failure (a file that is not a DB, a folder that cannot be created) stays an error.

:func:`open_held` is the one way a store opens its DB: under this process's hold of its lock,
with that sorting of failures.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from logtide.agent.core.errors import PluginError
from logtide.agent.core.notices import FailureNotice, retried
from logtide.agent.inputs import state_lock
from logtide.agent.inputs.state_lock import StateHeld

# Primary result codes of a DB that may open later: SQLITE_BUSY, SQLITE_LOCKED (another
# connection), SQLITE_IOERR (a -shm file that cannot grow on a full disk says so),
# SQLITE_FULL.
_TRANSIENT = frozenset({5, 6, 10, 13})

T = TypeVar("T")


def transient(exc: sqlite3.Error) -> bool:
    """Whether trying again later can succeed where ``exc`` failed."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _TRANSIENT


async def open_when_possible(
    open_db: Callable[[], Awaitable[T]], notice: FailureNotice, interval: float
) -> T:
    """``open_db()``, awaited again every ``interval`` seconds while another agent holds the
    DB or it raises a :func:`transient` ``sqlite3.Error`` (anything else propagates)."""
    return await retried(open_db, _may_open_later, notice, interval)


def _may_open_later(exc: Exception) -> bool:
    return isinstance(exc, StateHeld) or (isinstance(exc, sqlite3.Error) and transient(exc))


@dataclass(frozen=True)
class HeldDB:
    """An open state DB and this process's hold of its lock."""

    conn: sqlite3.Connection
    lock: str | None

    def close(self) -> None:
        self.conn.close()
        if self.lock is not None:
            state_lock.release(self.lock)


def open_held(
    path: str, plugin: str, prepare: Callable[[sqlite3.Connection], T]
) -> tuple[HeldDB, T]:
    """Open ``path`` (creating its folder) holding its lock, and ``prepare(conn)`` it (pragmas,
    schema, reading what it keeps). Blocking: call it in the DB thread.

    A DB that may open later raises :class:`StateHeld` or a :func:`transient`
    ``sqlite3.Error`` for :func:`open_when_possible`; any other failure is a
    :class:`PluginError` naming ``plugin`` and the DB. Either way nothing stays open or held.
    """
    conn: sqlite3.Connection | None = None
    lock: str | None = None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        lock = state_lock.take(path)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        return HeldDB(conn, lock), prepare(conn)
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        if lock is not None:
            state_lock.release(lock)
        if isinstance(exc, StateHeld) or (isinstance(exc, sqlite3.Error) and transient(exc)):
            raise
        raise PluginError(f"{plugin}: cannot open DB {path}: {exc}") from None
