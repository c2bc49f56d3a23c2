"""Hearing about changes quickly: directory notifications for the follow loop.

Change detection has two layers: a watch on every directory that matters wakes the input
within milliseconds, and the input's own poll tick (``fstat``/``stat`` of every open file)
catches anything the watch misses — including writes to symlink targets in other
directories, as ``/var/log/containers/*.log -> /var/log/pods/...`` are.

The watch is one of two :class:`DirectoryWatch` implementations: inotify read by the event
loop (``inotify``, Linux), or watchdog (``portable_watcher``: macOS, the BSDs; and Linux when
``LOGTIDE_WATCHER=watchdog``, which is how the tests exercise it). Without either, the poll
tick does all the work.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import sys
from collections.abc import Iterable
from typing import Protocol

from logtide.agent.inputs.tail.inotify import InotifyWatch

# Set to "watchdog" to use watchdog instead of inotify on Linux.
WATCHER_ENV = "LOGTIDE_WATCHER"


def watch_roots(patterns: Iterable[str]) -> set[str]:
    """The deepest existing directory above each pattern's first wildcard."""
    roots: set[str] = set()
    for pattern in patterns:
        head = pattern
        while glob.has_magic(head):
            head = os.path.dirname(head)
        if not glob.has_magic(pattern):
            head = os.path.dirname(pattern)
        while head and not os.path.isdir(head):
            head = os.path.dirname(head)
        roots.add(head or ".")
    return roots


class DirectoryWatch(Protocol):
    """Where notifications come from: inotify on Linux, watchdog elsewhere. Events reach
    the :class:`Watcher` on the loop's thread."""

    def watch(self, directory: str) -> None:
        """Watch ``directory`` (not recursively); ``OSError`` if it cannot be."""

    def covers(self, directory: str) -> bool:
        """Whether changes in ``directory`` are notified."""

    def stop(self) -> None:
        """Stop, releasing descriptors and threads; nothing is notified afterwards."""


class Watcher:
    """Collects the paths that saw activity, sets ``changed`` when there are some and
    ``rescan`` when entries appear or vanish (or notifications were lost).

    Notifications pile up in :meth:`take_changed`'s set and wake the loop once until it
    takes them.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, logger: logging.Logger) -> None:
        self.loop = loop
        self.logger = logger
        self.changed = asyncio.Event()
        self.rescan = False
        self.backend: DirectoryWatch | None = None
        self._paths: set[str] = set()

    # -- what the backend reports (on the loop's thread) ----------------------------------
    def _notice(self, directory: str, name: str, structural: bool) -> None:
        self._paths.add(os.path.join(directory, name) if name else directory)
        if structural:
            self.rescan = True
        self.changed.set()

    def _lost(self) -> None:
        """Notifications were lost, or a watched directory vanished: match the globs again
        (which also visits every file)."""
        self.rescan = True
        self.changed.set()

    def _failed(self, exc: OSError) -> None:
        self.logger.warning("tail: file notifications failed (%s); polling", exc)
        self.backend = None
        self._lost()

    # -- what the follow loop asks -------------------------------------------------------
    def take_changed(self) -> set[str]:
        """The paths with activity since the last call."""
        paths, self._paths = self._paths, set()
        return paths

    def covers(self, directory: str) -> bool:
        """Whether changes in ``directory`` are notified (else it must be polled)."""
        return self.backend is not None and self.backend.covers(directory)

    def start(self) -> None:
        if os.environ.get(WATCHER_ENV) == "watchdog" or not sys.platform.startswith("linux"):
            self._start_portable()
            return
        inotify = InotifyWatch(self.loop, self._notice, self._lost, self._failed)
        try:
            inotify.start()
        except (OSError, AttributeError, NotImplementedError) as exc:
            # no inotify (platform, limits), or an event loop without add_reader
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        self.backend = inotify

    def _start_portable(self) -> None:
        try:
            from logtide.agent.inputs.tail.portable_watcher import PortableWatcher

            portable = PortableWatcher(self.loop, self._notice)
            portable.start()
        except (ImportError, OSError) as exc:
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        self.backend = portable
        self.logger.info("tail: file notifications from watchdog (%s)", portable.kind)

    def watch(self, directory: str) -> None:
        if self.backend is None:
            return
        try:
            self.backend.watch(directory)
        except OSError as exc:  # gone already, the inotify watch limit, out of descriptors
            self.logger.warning("tail: cannot watch %s (%s); polling it", directory, exc)

    def stop(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.stop()
