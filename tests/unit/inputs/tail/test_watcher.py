"""The inotify watcher on a real folder: what it reports, and when it asks for a rescan."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from pathlib import Path

import pytest

from logtide.agent.inputs.tail.inotify import IN_Q_OVERFLOW, Inotify, InotifyWatch
from logtide.agent.inputs.tail.watcher import Watcher

LOG = logging.getLogger("test.watcher")


async def _settle(watcher: Watcher) -> set[str]:
    await asyncio.wait_for(watcher.changed.wait(), 2)
    await asyncio.sleep(0.05)
    watcher.changed.clear()
    return watcher.take_changed()


@pytest.fixture(params=["inotify", "no inotify"])
async def watcher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    w = Watcher(asyncio.get_running_loop(), LOG)
    if request.param == "no inotify":
        # As on macOS or a BSD: inotify is Linux only, and watchdog takes over. (watchdog
        # chose its observer for the real platform when it was imported.)
        pytest.importorskip("watchdog.observers")
        with monkeypatch.context() as patched:
            patched.setattr(sys, "platform", "darwin")
            w.start()
        assert not isinstance(w.backend, InotifyWatch)
    else:
        w.start()
        assert isinstance(w.backend, InotifyWatch)
    yield w
    w.stop()


async def test_write_is_reported_without_rescan(watcher: Watcher, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\n")
    watcher.watch(str(tmp_path))
    assert watcher.covers(str(tmp_path))
    with log.open("ab") as fh:
        fh.write(b"two\n")
    assert await _settle(watcher) == {str(log)}
    assert not watcher.rescan


async def test_created_renamed_and_deleted_entries_ask_for_a_rescan(
    watcher: Watcher, tmp_path: Path
) -> None:
    watcher.watch(str(tmp_path))
    (tmp_path / "new.log").write_bytes(b"x\n")
    assert str(tmp_path / "new.log") in await _settle(watcher)
    assert watcher.rescan
    watcher.rescan = False
    os.rename(tmp_path / "new.log", tmp_path / "new.log.1")
    assert {str(tmp_path / "new.log"), str(tmp_path / "new.log.1")} <= await _settle(watcher)
    assert watcher.rescan
    watcher.rescan = False
    os.unlink(tmp_path / "new.log.1")
    assert str(tmp_path / "new.log.1") in await _settle(watcher)
    assert watcher.rescan


async def test_one_directory_under_two_names_reports_both(
    watcher: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "pods"
    real.mkdir()
    monkeypatch.chdir(tmp_path)
    watcher.watch("pods")
    watcher.watch(str(real))
    (real / "a.log").write_bytes(b"x\n")
    assert {"pods/a.log", str(real / "a.log")} <= await _settle(watcher)


async def test_removed_directory_is_no_longer_covered(watcher: Watcher, tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    watcher.watch(str(folder))
    folder.rmdir()
    await _settle(watcher)
    for _ in range(20):  # IN_IGNORED follows IN_DELETE_SELF, possibly in a later read
        if not watcher.covers(str(folder)):
            break
        await asyncio.sleep(0.05)
    assert not watcher.covers(str(folder))
    assert watcher.rescan


async def test_queue_overflow_asks_for_a_rescan(
    watcher: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not isinstance(watcher.backend, InotifyWatch):
        pytest.skip("inotify's own queue")
    monkeypatch.setattr(watcher.backend._inotify, "read", lambda: [(-1, IN_Q_OVERFLOW, b"")])
    watcher.backend._on_readable()
    assert watcher.rescan and watcher.changed.is_set()


async def test_watch_failure_falls_back_to_polling_that_directory(
    watcher: Watcher, tmp_path: Path
) -> None:
    watcher.watch(str(tmp_path / "missing"))
    assert not watcher.covers(str(tmp_path / "missing"))


def test_inotify_reads_nothing_when_nothing_happened() -> None:
    inotify = Inotify()
    try:
        assert inotify.read() == []
    finally:
        inotify.close()


async def test_forced_watchdog_threads_are_joined_on_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("watchdog.observers")
    monkeypatch.setenv("LOGTIDE_WATCHER", "watchdog")
    before = set(threading.enumerate())
    watcher = Watcher(asyncio.get_running_loop(), LOG)
    watcher.start()
    watcher.watch(str(tmp_path))
    assert not isinstance(watcher.backend, InotifyWatch) and watcher.covers(str(tmp_path))
    assert set(threading.enumerate()) - before  # the observer and its emitter
    watcher.stop()
    assert set(threading.enumerate()) - before == set()
    assert not watcher.covers(str(tmp_path))
