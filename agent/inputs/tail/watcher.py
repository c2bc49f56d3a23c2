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
import threading
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
    def __init__(self, notify: Callable[[list[str], bool], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        self._notify(paths, event.event_type in ("created", "moved", "deleted"))


class Watcher:
    """Collects the paths that saw activity, sets ``changed`` when there are some and
    ``rescan`` when entries appear or vanish.

    With a thousand busy files notifications arrive by the thousand per second: they pile
    up in :meth:`take_changed`'s set and wake the loop once until it takes them.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, logger: logging.Logger) -> None:
        self.loop = loop
        self.logger = logger
        self.changed = asyncio.Event()
        self.rescan = False
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._watched: set[str] = set()
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._structural = False
        self._wake_pending = False

    def _notify(self, paths: list[str], structural: bool) -> None:
        with self._lock:
            self._paths.update(paths)
            self._structural |= structural
            if self._wake_pending:
                return
            self._wake_pending = True
        self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        with self._lock:
            self._wake_pending = False
            if self._structural:
                self.rescan = True
                self._structural = False
        self.changed.set()

    def take_changed(self) -> set[str]:
        """The paths with activity since the last call."""
        with self._lock:
            paths, self._paths = self._paths, set()
        return paths

    def covers(self, directory: str) -> bool:
        """Whether changes in ``directory`` are notified (else it must be polled)."""
        return directory in self._watched

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
