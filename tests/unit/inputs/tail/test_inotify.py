"""The inotify watch behind the watcher: what happens when its descriptor breaks."""

from __future__ import annotations

import asyncio
import errno
import logging
import sys
from pathlib import Path

import pytest

from logtide.agent.inputs.tail.inotify import InotifyWatch
from logtide.agent.inputs.tail.watcher import Watcher

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


async def test_a_broken_descriptor_falls_back_to_polling_and_a_rescan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = Watcher(asyncio.get_running_loop(), logging.getLogger("test.inotify"))
    watcher.start()
    inotify = watcher.backend
    assert isinstance(inotify, InotifyWatch)
    watcher.watch(str(tmp_path))
    assert watcher.covers(str(tmp_path))

    def broken() -> list[tuple[int, int, bytes]]:
        raise OSError(errno.EIO, "I/O error")

    assert inotify._inotify is not None
    monkeypatch.setattr(inotify._inotify, "read", broken)
    with caplog.at_level(logging.WARNING):
        inotify._on_readable()
    assert "file notifications failed" in caplog.text
    assert watcher.backend is None and not watcher.covers(str(tmp_path))
    assert watcher.rescan and watcher.changed.is_set()
    assert inotify._inotify is None  # its descriptor is closed and off the loop
    watcher.watch(str(tmp_path))  # polling from now on: nothing to watch with
    assert not watcher.covers(str(tmp_path))
    watcher.stop()
