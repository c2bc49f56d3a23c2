"""Finding files (glob + Exclude_Path) and hearing about changes quickly.

Change detection has two layers: a watchdog (inotify) observer on every directory that
matters wakes the input within milliseconds, and the input's own poll tick (``fstat``/``stat``
of every open file) catches anything inotify misses — including writes to symlink targets in
other directories, as ``/var/log/containers/*.log -> /var/log/pods/...`` are.
"""

from __future__ import annotations

import asyncio
import fnmatch
import glob
import logging
import os
from collections.abc import Callable, Iterable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


def expand(patterns: Iterable[str], excludes: Iterable[str]) -> list[str]:
    """Regular files (following symlinks) matching any pattern and no exclude, sorted."""
    exclude = [pattern for pattern in excludes if pattern]
    found: set[str] = set()
    for pattern in patterns:
        for path in glob.glob(pattern, recursive="**" in pattern):
            if any(
                fnmatch.fnmatch(path, ex) or fnmatch.fnmatch(os.path.basename(path), ex)
                for ex in exclude
            ):
                continue
            try:
                if os.path.isfile(path):
                    found.add(path)
            except OSError:
                continue
    return sorted(found)


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


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[bool], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._notify(event.event_type in ("created", "moved", "deleted"))


class Watcher:
    """Sets ``changed`` on any file activity and ``rescan`` when entries appear or vanish."""

    def __init__(self, loop: asyncio.AbstractEventLoop, logger: logging.Logger) -> None:
        self.loop = loop
        self.logger = logger
        self.changed = asyncio.Event()
        self.rescan = False
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._watched: set[str] = set()

    def _notify(self, structural: bool) -> None:
        self.loop.call_soon_threadsafe(self._wake, structural)

    def _wake(self, structural: bool) -> None:
        if structural:
            self.rescan = True
        self.changed.set()

    def start(self) -> None:
        try:
            observer = Observer()
            observer.daemon = True
            observer.start()
        except Exception as exc:  # no inotify (limits, platform): polling still works
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        self._observer = observer

    def watch(self, directory: str) -> None:
        if self._observer is None or directory in self._watched:
            return
        try:
            self._observer.schedule(_Handler(self._notify), directory, recursive=False)
        except Exception as exc:  # e.g. inotify watch limit reached
            self.logger.warning("tail: cannot watch %s (%s); polling it", directory, exc)
            return
        self._watched.add(directory)

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)
