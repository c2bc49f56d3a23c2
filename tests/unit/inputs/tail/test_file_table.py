"""The open files by (device, inode), and closed files with ranges still in flight."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.plugins import plugin_context
from tests.unit.inputs.tail.parts import wire


async def test_files_are_known_by_device_and_inode(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\n")
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        st = os.stat(log)
        assert (st.st_dev, st.st_ino) in parts.table
        assert len(parts.table) == 1 and list(parts.table) == [f]
        # The same file under another name is the same file.
        os.rename(log, tmp_path / "b.log")
        assert parts.discovery.open(str(tmp_path / "b.log"), from_head=True) is None
        parts.table.remove(f)
        assert (st.st_dev, st.st_ino) not in parts.table
        os.close(f.fd)


async def test_closing_files_are_tracked_until_unparked(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"one\n")
    (tmp_path / "b.log").write_bytes(b"two\n")
    async with plugin_context() as context:
        parts = wire(context)
        a, b = parts.open(tmp_path / "a.log"), parts.open(tmp_path / "b.log")
        parts.table.remove(a)
        parts.table.park(a)
        assert parts.table.closing == [a]
        assert parts.table.tracked() == [b, a]
        parts.table.unpark(a)
        parts.table.unpark(a)  # twice is harmless (an ack and a close may both do it)
        assert parts.table.closing == [] and parts.table.tracked() == [b]
        os.close(a.fd)
        parts.table.close_all()
        assert b.closed and len(parts.table) == 0
        assert _closed(b.fd)


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False
