"""One process per state DB: an input holds ``<DB>.lock`` (``flock``) while its DB is open.

Two agents on one checkpoint DB (a DaemonSet rolled with ``maxSurge``, an agent started by
hand beside the pod's) would each read every file from the same offsets and deliver every
line twice, past CloudWatch's and S3's exactly-once journals, which are per process. So the
second one waits (:func:`~logtide.agent.inputs.state_db.open_when_possible` tries again
every second, with one warning line) until the first one exits; the kernel drops the lock
of a process however it ends, kill -9 included.

Inputs of one process may share a DB, as Fluent Bit's may: the lock is taken once per
process and counted. The lock is a file of its own, not the DB: on NFS, Linux turns
``flock`` into the ``fcntl`` byte-range locks SQLite takes on the DB, and the two would
collide.
"""

from __future__ import annotations

import os
import threading

from logtide.agent.core.file_lock import LockHeld, try_lock

_guard = threading.Lock()
# The lock files this process holds: path -> (descriptor, inputs holding it).
_held: dict[str, tuple[int, int]] = {}


class StateHeld(LockHeld):
    """Another process holds the state DB."""


def take(db_path: str) -> str | None:
    """Hold ``db_path``'s lock for this process (again, when one of its inputs already
    does); the key :func:`release` takes, or None for SQLite's ``:memory:``, which no other
    process can share. :class:`StateHeld` when another process holds it. Blocking (opens a
    file): call it where the DB is opened."""
    if db_path == ":memory:":
        return None
    key = os.path.realpath(db_path) + ".lock"
    with _guard:
        if key in _held:
            held, holders = _held[key]
            _held[key] = (held, holders + 1)
            return key
        fd = try_lock(key)
        if fd is None:
            raise StateHeld(
                f"another process holds it ({key} is locked); two agents on one DB would "
                "each send every line"
            )
        _held[key] = (fd, 1)
        return key


def release(key: str) -> None:
    """Give back one hold of :func:`take`; the last one closes the file, which unlocks it."""
    with _guard:
        fd, holders = _held[key]
        if holders > 1:
            _held[key] = (fd, holders - 1)
            return
        del _held[key]
        os.close(fd)
