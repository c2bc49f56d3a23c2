"""A file's checkpoint row and the identity of its content: the fingerprint (the bytes
just before the offset) and the lineage (a token plus the content's first bytes, its head).

Rows know the file only through an open descriptor (``pread``); storing them is
:mod:`~logtide.agent.inputs.tail.checkpoint_db`'s job.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field

FINGERPRINT_BYTES = 256
# A first line longer than FINGERPRINT_BYTES is a head whole, up to this: docker's json-file
# lines put the time after the message, so 256 bytes of a long line that repeats (a warning,
# a replica's banner) would be the same in every generation that starts with it.
HEAD_MAX_BYTES = 64 * 1024


def new_lineage() -> str:
    return secrets.token_hex(8)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def head_of(data: bytes) -> bytes:
    """The head of a content that starts with ``data`` (all of it, or its first
    :data:`HEAD_MAX_BYTES`); empty while it cannot be told yet.

    :data:`FINGERPRINT_BYTES` when a line ends within them; shorter, a head ends at a line's
    end, as a delivered chunk does (a line caught half-written may begin another generation
    too). A first line longer than that is the head whole, once it has its end (or
    :data:`HEAD_MAX_BYTES` of it)."""
    if b"\n" in data[:FINGERPRINT_BYTES]:
        if len(data) >= FINGERPRINT_BYTES:
            return data[:FINGERPRINT_BYTES]
        return data[: data.rfind(b"\n") + 1]
    end = data.find(b"\n")
    if end >= 0:
        return data[: end + 1]
    return data[:HEAD_MAX_BYTES] if len(data) >= HEAD_MAX_BYTES else b""


LineageKey = tuple[str, int, bytes]  # (token, head length, head digest)
Head = tuple[int, bytes]  # (length, digest) of a content's first bytes


@dataclass(slots=True)
class Row:
    """One file's checkpoint. ``fp_length`` 0 means no fingerprint (e.g. a Fluent Bit row)."""

    id: int
    name: str
    offset: int
    inode: int
    created: int
    rotated: int = 0
    fp_length: int = 0
    fp_digest: bytes = b""
    lineage: str = field(default_factory=new_lineage)
    head_length: int = 0
    head_digest: bytes = b""

    def set_fingerprint(self, data: bytes) -> None:
        self.fp_length = len(data)
        self.fp_digest = digest(data) if data else b""

    def reset_lineage(self) -> None:
        """The file's content starts over: it is another content from here on."""
        self.lineage = new_lineage()
        self.head_length, self.head_digest = 0, b""

    def set_head(self, data: bytes) -> None:
        self.head_length, self.head_digest = len(data), digest(data)

    def take_head(self, fd: int, size: int) -> bool:
        """Remember the first bytes of the open file ``fd`` (of the ``size`` it has) when
        none are yet (:func:`head_of`); whether it did. Taken as soon as the file has a
        whole line, not only when the first of them is delivered: a generation kubelet
        gzips before anything of it was read (the input held back by an outage) is then
        still found by them."""
        if self.head_length or size <= 0:
            return False
        try:
            data = os.pread(fd, min(FINGERPRINT_BYTES, size), 0)
            if b"\n" not in data and size > FINGERPRINT_BYTES:
                data = os.pread(fd, min(HEAD_MAX_BYTES, size), 0)
        except OSError:
            return False
        head = head_of(data)
        if not head:
            return False
        self.set_head(head)
        return True

    @property
    def lineage_key(self) -> LineageKey:
        """The lineage as the DB stores it."""
        return self.lineage, self.head_length, self.head_digest

    def head_matches(self, fd: int) -> bool:
        """Whether the file still starts with the bytes first read under this lineage."""
        if self.head_length == 0:
            return False
        try:
            data = os.pread(fd, self.head_length, 0)
        except OSError:
            return False
        return len(data) == self.head_length and digest(data) == self.head_digest

    def matches(self, fd: int, size: int) -> bool:
        """Whether the open file still holds, just before :attr:`offset`, what was read."""
        if self.offset > size:
            return False
        if self.fp_length == 0 or self.offset == 0:
            return True
        length = min(self.fp_length, self.offset)
        try:
            data = os.pread(fd, length, self.offset - length)
        except OSError:
            return False
        return len(data) == length and digest(data) == self.fp_digest
