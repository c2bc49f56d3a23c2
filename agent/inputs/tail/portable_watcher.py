"""Directory notifications through watchdog, where logtide's own inotify is not available.

watchdog picks the platform's mechanism (FSEvents on macOS, kqueue on the BSDs; inotify on
Linux, where it serves only when forced with ``LOGTIDE_WATCHER=watchdog``, for tests). Its
observer runs threads of its own: events are gathered under a lock and handed to the event
loop with one ``call_soon_threadsafe`` per batch, so a busy file does not cost one
cross-thread call per write.

Importing this module needs watchdog (a dependency off Linux, and in the test extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable

from watchdog.events import (
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

# Called on the loop's thread with (watched directory, entry name, whether entries appeared,
# vanished or moved).
Notice = Callable[[str, str, bool], None]
# Opens and closes (our own reads cause them) are not asked for, nor a directory's own
# "modified": the event of the entry that changed says more.
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
_JOIN_TIMEOUT = 5.0


class _Handler(FileSystemEventHandler):
    """Events of one watched directory (watched non-recursively)."""

    def __init__(self, owner: PortableWatcher, directory: str) -> None:
        self.owner = owner
        self.directory = directory

    def on_any_event(self, event: FileSystemEvent) -> None:
        structural = event.event_type != EVENT_TYPE_MODIFIED
        # Names are taken relative to the directory as logtide named it: FSEvents reports
        # resolved paths (/private/var/... for /var/...).
        self.owner.post(self.directory, os.path.basename(os.fsdecode(event.src_path)), structural)
        if event.event_type == EVENT_TYPE_MOVED and event.dest_path:
            self.owner.post(
                self.directory, os.path.basename(os.fsdecode(event.dest_path)), structural
            )


class PortableWatcher:
    """watchdog's observer, owned: started by :meth:`start`, stopped and joined by
    :meth:`stop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, notice: Notice) -> None:
        self.loop = loop
        self.notice = notice
        self._observer: BaseObserver | None = None
        self._directories: dict[str, ObservedWatch] = {}
        self._lock = threading.Lock()
        self._pending: set[tuple[str, str, bool]] = set()

    def start(self) -> None:
        observer = Observer()
        observer.daemon = True  # never holds the process up, even if stop() is skipped
        observer.start()
        self._observer = observer

    @property
    def kind(self) -> str:
        """The observer watchdog chose for this platform (InotifyObserver, FSEventsObserver,
        KqueueObserver, ...)."""
        return type(self._observer).__name__

    def watch(self, directory: str) -> None:
        """Raises ``OSError`` if the directory cannot be watched."""
        if self._observer is None or directory in self._directories:
            return
        self._directories[directory] = self._observer.schedule(
            _Handler(self, directory), directory, recursive=False, event_filter=_EVENTS
        )

    def covers(self, directory: str) -> bool:
        return directory in self._directories

    def post(self, directory: str, name: str, structural: bool) -> None:
        """From an observer thread: queue the event; wake the loop if nothing was queued."""
        with self._lock:
            wake = not self._pending
            self._pending.add((directory, name, structural))
        if wake:
            # RuntimeError: the loop is closed, the input has stopped.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
        if self._observer is None:
            return
        for directory, name, structural in pending:
            if structural and directory in self._directories and not os.path.isdir(directory):
                self._forget(directory)
            self.notice(directory, name, structural)

    def _forget(self, directory: str) -> None:
        """The directory is gone: its files are polled until a rescan watches it again.
        (Checked here, not from the event: FSEvents names the resolved path.)"""
        watch = self._directories.pop(directory)
        assert self._observer is not None
        with contextlib.suppress(KeyError):  # watchdog dropped it already
            self._observer.unschedule(watch)

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        self._directories.clear()
        if observer is not None:
            observer.stop()
            observer.join(_JOIN_TIMEOUT)
