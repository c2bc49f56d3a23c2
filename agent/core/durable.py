"""Writing files so that what a call wrote survives a crash, power loss included.

fsync of a file makes its bytes durable, not its name: a file just created, or renamed
into place, may be gone after a power cut unless its directory is fsynced too. Every
writer whose acknowledgement promises durability (the disk queue, the outputs' journals
and buffers) goes through these helpers rather than its own sequence of calls.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

StrPath = str | Path


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than it was given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(folder: StrPath) -> None:
    """Make the names in ``folder`` (files created, renamed or removed there) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_whole(
    fd: int, end: int, pieces: Iterable[bytes | memoryview], *, sync: bool = True
) -> int:
    """Write ``pieces`` at the end of ``fd``, an append-only file ``end`` bytes long, and
    fsync it when ``sync``; returns the new size. On failure (a full disk) the file is cut
    back to ``end`` before the error is raised: the part written would sit before whatever
    the next append writes, in the middle of the file, where a reader takes it for a
    record (one writer per file: a concurrent append would be cut too)."""
    written = 0
    try:
        for piece in pieces:
            write_all(fd, piece)
            written += len(piece)
        if sync:
            os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise
    return end + written


def write_atomic(path: StrPath, data: bytes | memoryview, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: after a crash it holds the old content or the new,
    never a mix, and once this returns the new content is there to stay.

    Write a temporary file beside it, fsync that, rename it over ``path``, fsync the
    directory (without the last step the rename itself may be lost). A temporary file that
    could not be written whole is removed: on a full disk it would hold the space its
    next try needs.
    """
    target = os.fspath(path)
    temp = target + ".tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    os.replace(temp, target)
    fsync_dir(os.path.dirname(target) or ".")


def append_synced(path: StrPath, data: bytes | memoryview, mode: int = 0o600) -> None:
    """Append ``data`` to ``path`` (created if need be) and make it durable before
    returning: the file is fsynced, and its directory too when this call created it. On
    failure the file is cut back to where it ended (:func:`append_whole`)."""
    created = not os.path.exists(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        append_whole(fd, os.fstat(fd).st_size, (data,))
    finally:
        os.close(fd)
    if created:
        fsync_dir(os.path.dirname(os.fspath(path)) or ".")


def open_for_append(path: StrPath, whole: int, mode: int = 0o600) -> int:
    """A descriptor appending to the log file ``path`` (created if need be), whose first
    ``whole`` bytes are its whole lines: what follows them (a line torn by a crash, which
    would hide every later line from the next reader) is cut off, and a newline is added
    when the last line lacks one. Needs no free space beyond that newline."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, mode)
    try:
        keep = min(whole, os.fstat(fd).st_size)
        os.ftruncate(fd, keep)
        if keep and os.pread(fd, 1, keep - 1) != b"\n":
            write_all(fd, b"\n")
        os.fsync(fd)
    except OSError:
        os.close(fd)
        raise
    return fd
