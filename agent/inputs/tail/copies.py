"""logrotate's ``copytruncate`` while the agent runs: the copy that holds a truncated file's
unread end.

copytruncate copies the file beside it (``app.log.1``; gzipped at once with ``compress`` and
no ``delaycompress``), then empties it in place. Lines the tail had not read yet, because it
was behind, held back by ``Mem_Buf_Limit`` or between two visits, are then only in the copy.
A copy that starts with the file's first bytes, holds the bytes before its checkpoint, and
holds at the same offsets the last bytes the tail read is the same content: the tail reads
on from there (:meth:`~logtide.agent.inputs.tail.changes.FileChanges.check`). This module only
finds and checks the copy; a ``.gz`` is decompressed as at start
(:mod:`~logtide.agent.inputs.tail.compressed`), bytes long read left out. A start finds a
copy made while the agent was down with the same :func:`open_copy`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from logtide.agent.inputs.tail.compressed import decompressed_copy, find_compressed
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.reader import TailedFile
from logtide.agent.inputs.tail.rows import FINGERPRINT_BYTES, Row
from logtide.agent.inputs.tail.siblings import named_beside, siblings


@dataclass(frozen=True, slots=True)
class Copy:
    """An open copy of a truncated file's content: ``name`` is the plain copy, or the
    ``.gz`` that ``fd`` (an unlinked decompressed file) was inflated from."""

    fd: int
    st: os.stat_result
    name: str
    compressed: bool


def _continues(f: TailedFile, fd: int, size: int) -> bool:
    """Whether the open file ``fd`` holds what ``f`` read: the bytes before its checkpoint,
    the last bytes it read, at the same offsets, and at least as much as it read."""
    if size < f.pos or not f.row.matches(fd, size):
        return False
    expected = f.recent + f.tail
    start = f.consumed - len(f.recent)
    try:
        return os.pread(fd, len(expected), start) == expected
    except OSError:
        return False


def open_copy(
    path: str, row: Row, table: FileTable, holds: Callable[[int, int], bool]
) -> Copy | None:
    """A rotated generation beside ``path``, open, that is a copy of ``row``'s content: it
    starts with the row's first bytes and ``holds(fd, size)``; never the row's own file nor
    one in ``table``. Also how a start finds a copy made while the agent was down."""
    if row.head_length == 0:
        return None
    for sibling in siblings(path):
        try:
            fd = os.open(sibling, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        st = os.fstat(fd)
        if (
            st.st_ino != row.inode
            and (st.st_dev, st.st_ino) not in table
            and row.head_matches(fd)
            and holds(fd, st.st_size)
        ):
            return Copy(fd, st, sibling, compressed=False)
        os.close(fd)
    return None


def copy_of_open(path: str, table: FileTable) -> bool:
    """Whether ``path``, a file the globs match that is not open yet, is a copy of a file
    being read (``Path app.log*`` matches logrotate's ``app.log.1`` too): named as its
    generation beside it and starting with its first bytes; ending as the file reads at the
    same offsets or, once the file was emptied (the truncation not yet seen), holding the
    bytes before its checkpoint. Such a copy is not opened as a file of its own, which
    would read every line again from its head: when the truncation comes,
    :func:`find_copy` reads on in it. One shorter than the file's first bytes that holds
    them so far is still being written: it waits for the next scan."""
    for f in table:
        if f.rotated_at is not None or not f.row.head_length or not named_beside(path, f.path):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return False
        try:
            if _copies(fd, f):
                return True
        except OSError:
            return False
        finally:
            os.close(fd)
    return False


def _copies(fd: int, f: TailedFile) -> bool:
    """:func:`copy_of_open` for the open file ``fd`` and one file ``f``."""
    row, size = f.row, os.fstat(fd).st_size
    if size < row.head_length:
        return os.pread(fd, size, 0) == os.pread(f.fd, size, 0)
    if not row.head_matches(fd):
        return False
    if os.fstat(f.fd).st_size < f.pos or not row.head_matches(f.fd):
        # Emptied already: only what was acknowledged of it is known.
        return 0 < row.offset <= size and row.matches(fd, size)
    # Still whole: a copy ends as the file reads there (another of the app's files that
    # begins alike, or holds what was acknowledged, goes on otherwise).
    return _same_end(fd, f.fd, size)


def _same_end(fd: int, other: int, size: int) -> bool:
    """Whether the file ``other`` holds the last bytes of ``fd`` (of ``size``) at the same
    offsets."""
    length = min(FINGERPRINT_BYTES, size)
    return os.pread(fd, length, size - length) == os.pread(other, length, size - length)


def _close_unclaimed(job: asyncio.Future[tuple[int, str | None]]) -> None:
    if not job.cancelled() and job.exception() is None:
        os.close(job.result()[0])


async def _inflated(
    f: TailedFile, taken: set[str], scratch: str, logger: logging.Logger
) -> Copy | None:
    """The ``.gz`` generation of ``f.path`` that starts with ``f``'s first bytes, decompressed
    in a thread (a big file would hold the event loop) from a little before what the checks
    read, and checked like a plain copy."""
    compressed = find_compressed(f.row, taken)
    if compressed is None:
        return None
    keep_from = max(0, min(f.row.offset - f.row.fp_length, f.consumed - len(f.recent)))
    job = asyncio.get_running_loop().run_in_executor(
        None, decompressed_copy, compressed, scratch, keep_from
    )
    try:
        fd, damage = await asyncio.shield(job)
    except asyncio.CancelledError:
        # The input stops (the engine may live on, as a library): the copy the thread
        # still makes must not hold its disk space for the rest of the process.
        job.add_done_callback(_close_unclaimed)
        raise
    except OSError as exc:
        why = exc.strerror or str(exc)
        logger.warning(
            "tail: cannot decompress %s to read the rest of %s: %s", compressed, f.path, why
        )
        return None
    st = os.fstat(fd)
    if damage is None and _continues(f, fd, st.st_size):
        return Copy(fd, st, compressed, compressed=True)
    os.close(fd)
    if damage is not None:
        logger.warning(
            "tail: %s is damaged (%s); not read as the copy of %s", compressed, damage, f.path
        )
    return None


async def find_copy(
    f: TailedFile, table: FileTable, scratch: str, logger: logging.Logger
) -> Copy | None:
    """The copy holding what ``f`` held before it was truncated: a plain one first, else a
    ``.gz``, decompressed in the folder ``scratch``.
    What stops a ``.gz`` from being read is logged: the file then starts over at 0."""
    copy = open_copy(f.path, f.row, table, lambda fd, size: _continues(f, fd, size))
    if copy is None:
        taken = {other.path for other in table}
        copy = await _inflated(f, taken, scratch, logger)
    return copy
