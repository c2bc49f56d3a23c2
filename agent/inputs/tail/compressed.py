"""A rotated file compressed while the agent was down: its unread lines, from the gzip.

kubelet rotates ``0.log`` to ``0.log.<time>`` and, at its next rotation of that container,
gzips it to ``0.log.<time>.gz`` and removes the original (logrotate's ``compress`` does the
same to ``app.log.1``). An agent that was behind when it stopped (an outage, an upgrade, an
OOM kill) finds its checkpoint row's file gone at the next start, and what it had not read
is only in the ``.gz``. That generation is recognised by its first bytes (the row's head
digest), decompressed into an unlinked file in the checkpoint DB's folder, and read from
the row's offset like any rotated file: the offsets, the fingerprint and the lineage are
those of the uncompressed content, so the checkpoint and outputs' watermarks hold.

kubelet writes the gzip as ``<name>.tmp`` and renames it when complete: a ``.tmp`` is never
read, and a ``.gz`` appears whole.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Collection, Iterator
from typing import BinaryIO

from logtide.agent.inputs.tail.checkpoint_db import Row, digest
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


def _head(path: str, length: int) -> bytes:
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
        head = _head(candidate, row.head_length)
        if len(head) == row.head_length and digest(head) == row.head_digest:
            return candidate
    return None


def decompressed_copy(path: str, folder: str) -> tuple[int, str | None]:
    """``path`` decompressed into a file in ``folder`` that is unlinked at once (nothing is
    left behind by a crash; the space is freed when the descriptor closes). Returns the
    descriptor, positioned at 0, and why the copy stops short, if it does (a damaged
    gzip: what came before the damage is kept). OSError when it cannot be written."""
    fd, name = tempfile.mkstemp(prefix=".logtide-decompressed-", dir=folder)
    os.unlink(name)
    damage = None
    try:
        with open(path, "rb") as source:
            try:
                for block in _inflate(source):
                    view = memoryview(block)
                    while view:
                        view = view[os.write(fd, view) :]
            except _Damaged as exc:
                damage = str(exc)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd, damage
