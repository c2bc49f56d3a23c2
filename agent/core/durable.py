"""Writing files so that what a call wrote survives a crash, power loss included.

fsync of a file makes its bytes durable, not its name: a file just created, or renamed
into place, may be gone after a power cut unless its directory is fsynced too. Every
writer whose acknowledgement promises durability (the disk queue, the outputs' journals
and buffers) goes through these helpers rather than its own sequence of calls.
"""

from __future__ import annotations

import os
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


def _write_synced(path: StrPath, flags: int, data: bytes | memoryview, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: StrPath, data: bytes | memoryview, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: after a crash it holds the old content or the new,
    never a mix, and once this returns the new content is there to stay.

    Write a temporary file beside it, fsync that, rename it over ``path``, fsync the
    directory (without the last step the rename itself may be lost).
    """
    target = os.fspath(path)
    temp = target + ".tmp"
    _write_synced(temp, os.O_TRUNC, data, mode)
    os.replace(temp, target)
    fsync_dir(os.path.dirname(target) or ".")


def append_synced(path: StrPath, data: bytes | memoryview, mode: int = 0o600) -> None:
    """Append ``data`` to ``path`` (created if need be) and make it durable before
    returning: the file is fsynced, and its directory too when this call created it."""
    created = not os.path.exists(path)
    _write_synced(path, os.O_APPEND, data, mode)
    if created:
        fsync_dir(os.path.dirname(os.fspath(path)) or ".")
