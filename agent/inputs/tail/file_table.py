"""The open files of one tail input, and the closed ones still waiting for acknowledgements.

A file is known by its device and inode, never by its name: a rename keeps it, a new file at
the same path is another one. A rotated file that was closed before every output accepted
what was read from it stays listed as *closing* until then, so its lag is still reported and
its checkpoint row is dropped only once that is known.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from logtide.agent.inputs.tail.reader import TailedFile

FileKey = tuple[int, int]


class FileTable:
    """Open files by ``(device, inode)``, plus closed files with ranges in flight."""

    def __init__(self) -> None:
        self._open: dict[FileKey, TailedFile] = {}
        self._closing: list[TailedFile] = []

    def __contains__(self, key: FileKey) -> bool:
        return key in self._open

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[TailedFile]:
        """The open files; the table may change while the caller awaits, so callers that
        do take a :meth:`snapshot`."""
        return iter(self._open.values())

    def snapshot(self) -> list[TailedFile]:
        return list(self._open.values())

    def add(self, f: TailedFile) -> None:
        self._open[(f.dev, f.inode)] = f

    def remove(self, f: TailedFile) -> None:
        self._open.pop((f.dev, f.inode), None)

    def close_all(self) -> None:
        """Close every open file's descriptor (the input stops)."""
        for f in self._open.values():
            f.closed = True
            os.close(f.fd)
        self._open.clear()

    def park(self, f: TailedFile) -> None:
        """``f`` is closed but some of its ranges are not acknowledged yet."""
        self._closing.append(f)

    def unpark(self, f: TailedFile) -> None:
        if f in self._closing:
            self._closing.remove(f)

    @property
    def closing(self) -> list[TailedFile]:
        return list(self._closing)

    def tracked(self) -> list[TailedFile]:
        """Open and closing files: every file whose ranges can still be acknowledged.

        Safe from another thread (a metrics scrape): both are copied in C, without running
        Python code, so the loop cannot change them meanwhile."""
        return [*self._open.values(), *self._closing]
