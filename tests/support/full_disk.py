"""A disk with no room left, as the code under test meets it: writes that fail with ENOSPC,
whole or half-way."""

from __future__ import annotations

import errno
from collections.abc import Callable

Write = Callable[[int, bytes | memoryview], None]


def no_space() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def refuse(*_args: object) -> None:
    """A stand-in for a write that finds the disk full before its first byte."""
    raise no_space()


def half_then_full(write_all: Write) -> Write:
    """``write_all`` that puts half its bytes on disk, then fails as a full disk does."""

    def write_half(fd: int, data: bytes | memoryview) -> None:
        write_all(fd, bytes(data)[: len(data) // 2])
        raise no_space()

    return write_half
