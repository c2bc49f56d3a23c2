"""A rotated file compressed while the agent was down: its unread lines, from the gzip.

kubelet rotates ``0.log`` to ``0.log.<time>`` and, at its next rotation of that container,
gzips it to ``0.log.<time>.gz`` and removes the original (logrotate's ``compress`` does the
same to ``app.log.1``). An agent that was behind when it stopped (an outage, an upgrade, an
OOM kill) finds its checkpoint row's file gone at the next start, and what it had not read
is only in the ``.gz``. That generation is recognised by its first bytes (the row's head
digest), decompressed into an unlinked file in the checkpoint DB's folder (what was read
before is a hole there, only the unread end takes disk), and read from the row's offset
like any rotated file: the offsets, the fingerprint and the lineage are those of the
uncompressed content, so the checkpoint and outputs' watermarks hold. A gzip whose
trailer says it ends at the row's offset has nothing left to read and is not inflated.

kubelet writes the gzip as ``<name>.tmp`` and renames it when complete: a ``.tmp`` is never
read, and a ``.gz`` appears whole.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Collection, Iterator
from typing import BinaryIO

from logtide.agent.core.durable import write_all
from logtide.agent.inputs.tail.rows import Row, digest
from logtide.agent.inputs.tail.siblings import generations_of

SUFFIX = ".gz"
_BLOCK = 1024 * 1024
_HEAD_BLOCK = 4096
_GZIP = 16 + zlib.MAX_WBITS


class _Damaged(Exception):
    """The gzip stops being readable here; what came before is the file's."""


def _inflate(source: BinaryIO, size: int = _BLOCK) -> Iterator[bytes]:
    """The content of the gzip ``source`` (one member or several), block by block, at most
    ``size`` bytes each; :class:`_Damaged` where it stops short."""
    inflater = zlib.decompressobj(_GZIP)
    while data := source.read(size):
        while data:
            if inflater.eof:  # another member follows
                inflater = zlib.decompressobj(_GZIP)
            try:
                block = inflater.decompress(data, size)
            except zlib.error as exc:
                raise _Damaged(str(exc)) from None
            if block:
                yield block
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    if not inflater.eof:
        raise _Damaged("it ends part-way")


def first_bytes(path: str, length: int) -> bytes:
    """Up to ``length`` bytes of the content of the gzip ``path`` (fewer where it ends or
    stops being readable; none when it cannot be read)."""
    head = b""
    try:
        with open(path, "rb") as source:
            # A head is 256 bytes: no need to read a whole block of the file for it.
            for block in _inflate(source, _HEAD_BLOCK):
                head += block
                if len(head) >= length:
                    break
    except (OSError, _Damaged):
        pass
    return head[:length]


def find_compressed(row: Row, taken: Collection[str]) -> str | None:
    """The ``.gz`` generation that holds the file of ``row`` (its head matches), or None;
    never one of ``taken`` (being read for another row). A row with no head digest
    (nothing read yet, or a Fluent Bit row) matches nothing."""
    if row.head_length == 0:
        return None
    for candidate in generations_of(row.name, SUFFIX):
        if candidate in taken:
            continue
        head = first_bytes(candidate, row.head_length)
        if len(head) == row.head_length and digest(head) == row.head_digest:
            return candidate
    return None


def read_to(path: str, offset: int) -> bool:
    """Whether the gzip ``path`` ends at ``offset``: the trailer's size (modulo 2**32, of
    its last member; kubelet and logrotate write one) says so without inflating it. A file
    read to its end before it was compressed (its row is kept while the rotated file
    exists) has nothing left to read."""
    try:
        with open(path, "rb") as source:
            source.seek(-4, os.SEEK_END)
            trailer = source.read(4)
    except OSError:
        return False
    return len(trailer) == 4 and int.from_bytes(trailer, "little") == offset % 2**32


def decompressed_copy(path: str, folder: str, keep_from: int) -> tuple[int, str | None]:
    """``path`` decompressed into a file in ``folder`` that is unlinked at once (nothing is
    left behind by a crash; the space is freed when the descriptor closes). Only the bytes
    from ``keep_from`` on are written, at their own offsets: what comes before is a hole,
    which takes no disk. Returns the descriptor, positioned at 0, and why the copy stops
    short, if it does (a damaged gzip: what came before the damage is kept). OSError when
    it cannot be written."""
    fd, name = tempfile.mkstemp(prefix=".logtide-decompressed-", dir=folder)
    os.unlink(name)
    damage = None
    position = 0
    try:
        # The blocks are contiguous: one seek puts every byte written at its own offset.
        os.lseek(fd, keep_from, os.SEEK_SET)
        with open(path, "rb") as source:
            try:
                for block in _inflate(source):
                    end = position + len(block)
                    if end > keep_from:
                        write_all(fd, memoryview(block)[max(0, keep_from - position) :])
                    position = end
            except _Damaged as exc:
                damage = str(exc)
        os.ftruncate(fd, position)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd, damage
