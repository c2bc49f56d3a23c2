"""An exclusive ``flock`` on a file, taken without waiting: how a state folder (a tail DB,
an S3 ``store_dir``) is kept to one process. The kernel lets go of it however the process
ends, kill -9 included, so a stale lock is never left behind."""

from __future__ import annotations

import fcntl
import os


def try_lock(path: str | os.PathLike[str], mode: int = 0o644) -> int | None:
    """The descriptor of ``path`` (created if missing) holding its exclusive lock until it is
    closed, or None, holding nothing, when another process holds the lock. Raises the
    ``OSError`` of a file that cannot be opened or locked (a filesystem without locks)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if isinstance(exc, BlockingIOError):
            return None
        raise
    return fd
