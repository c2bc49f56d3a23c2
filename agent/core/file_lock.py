"""An exclusive ``flock`` on a file, taken without waiting: how a state folder (a tail DB,
an S3 ``store_dir``, a CloudWatch journal) is kept to one process. The kernel lets go of it
however the process ends, kill -9 included, so a stale lock is never left behind. A second
agent waits for the first to exit by trying again (:func:`when_free`)."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from logtide.agent.core.notices import FailureNotice, retried

T = TypeVar("T")

# How often a process waiting for another's lock tries again.
LOCK_RETRY_SECONDS = 1.0


class LockHeld(BlockingIOError):
    """Another process holds the lock; it is free again once that process ends."""


async def when_free(attempt: Callable[[], Awaitable[T]], logger: logging.Logger, what: str) -> T:
    """``attempt()``, awaited again every :data:`LOCK_RETRY_SECONDS` while it raises
    :class:`LockHeld`: a second agent on a state folder (a DaemonSet rolled with
    ``maxSurge``) waits for the first one to exit, with one warning line ("``what`` failed")
    and one when it works again."""
    notice = FailureNotice(logger, what, "nothing is read or sent until it opens")
    return await retried(attempt, _held_elsewhere, notice, LOCK_RETRY_SECONDS)


def _held_elsewhere(exc: Exception) -> bool:
    return isinstance(exc, LockHeld)


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
