"""Finding files (glob + Exclude_Path) and hearing about changes quickly.

Change detection has two layers: an inotify watch on every directory that matters wakes the
input within milliseconds, and the input's own poll tick (``fstat``/``stat`` of every open
file) catches anything inotify misses — including writes to symlink targets in other
directories, as ``/var/log/containers/*.log -> /var/log/pods/...`` are.

The inotify descriptor is read by the event loop itself (``add_reader``), not by threads: with
a thousand busy files, notifications arrive by the thousand per second, and handing each one
across threads cost more than the reads they announce.

Off Linux (macOS, the BSDs) the same notifications come from watchdog
(``portable_watcher``); ``LOGTIDE_WATCHER=watchdog`` uses it on Linux too, which is how the
tests exercise it. Without either, the poll tick does all the work.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import fnmatch
import glob
import logging
import os
import struct
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.inputs.tail.portable_watcher import PortableWatcher

# Set to "watchdog" to use watchdog instead of inotify on Linux.
WATCHER_ENV = "LOGTIDE_WATCHER"


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


# From <sys/inotify.h>.
IN_MODIFY = 0x002
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
WATCH_MASK = (
    IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
)
# Entries appeared, vanished or moved: the globs must be matched again.
STRUCTURAL = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
_EVENT = struct.Struct("iIII")
_LARGEST_EVENT = _EVENT.size + 256  # NAME_MAX + 1
READ_SIZE = 64 * 1024


class Inotify:
    """A non-blocking inotify descriptor (Linux), through libc."""

    def __init__(self) -> None:
        if not sys.platform.startswith("linux"):
            raise OSError(errno.ENOSYS, "inotify is Linux only")
        libc = ctypes.CDLL(None, use_errno=True)
        self._add_watch = libc.inotify_add_watch
        self._add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self.fd: int = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    def add_watch(self, directory: str, mask: int = WATCH_MASK) -> int:
        wd: int = self._add_watch(self.fd, os.fsencode(directory), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"{os.strerror(code)}: {directory}")
        return wd

    def read(self) -> list[tuple[int, int, bytes]]:
        """Pending events as ``(watch descriptor, mask, name)``; [] when there are none."""
        events: list[tuple[int, int, bytes]] = []
        while True:
            try:
                data = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                wd, mask, _, size = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                events.append((wd, mask, data[offset : offset + size].rstrip(b"\0")))
                offset += size
            if len(data) <= READ_SIZE - _LARGEST_EVENT:
                return events  # there was room for more: nothing else was pending

    def close(self) -> None:
        os.close(self.fd)


class Watcher:
    """Collects the paths that saw activity, sets ``changed`` when there are some and
    ``rescan`` when entries appear or vanish (or the kernel's event queue overflowed).

    Notifications pile up in :meth:`take_changed`'s set and wake the loop once until it
    takes them.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, logger: logging.Logger) -> None:
        self.loop = loop
        self.logger = logger
        self.changed = asyncio.Event()
        self.rescan = False
        self._inotify: Inotify | None = None
        self._portable: PortableWatcher | None = None
        self._watched: dict[str, int] = {}
        # One watch per directory inode: names that reach the same directory (a relative
        # Path and a resolved symlink target) share it, and each gets the paths it would.
        self._directories: dict[int, list[str]] = {}
        self._paths: set[str] = set()

    def _on_readable(self) -> None:
        assert self._inotify is not None
        try:
            events = self._inotify.read()
        except OSError as exc:
            self.logger.warning("tail: file notifications failed (%s); polling", exc)
            self.stop()
            self.rescan = True
            self.changed.set()
            return
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                # Some notifications were lost: rescan, which also visits every file.
                self.rescan = True
                continue
            directories = self._directories.get(wd)
            if directories is None:
                continue
            if mask & IN_IGNORED:
                # The directory is gone (or unmounted): poll what was in it.
                del self._directories[wd]
                for directory in directories:
                    self._watched.pop(directory, None)
                self.rescan = True
                continue
            text = os.fsdecode(name)
            for directory in directories:
                self._paths.add(os.path.join(directory, text) if text else directory)
            if mask & STRUCTURAL:
                self.rescan = True
        if events:
            self.changed.set()

    def _notice(self, directory: str, name: str, structural: bool) -> None:
        """One event from the portable watcher, on the loop's thread."""
        self._paths.add(os.path.join(directory, name))
        if structural:
            self.rescan = True
        self.changed.set()

    def take_changed(self) -> set[str]:
        """The paths with activity since the last call."""
        paths, self._paths = self._paths, set()
        return paths

    def covers(self, directory: str) -> bool:
        """Whether changes in ``directory`` are notified (else it must be polled)."""
        if self._portable is not None:
            return self._portable.covers(directory)
        return directory in self._watched

    def start(self) -> None:
        if os.environ.get(WATCHER_ENV) == "watchdog" or not sys.platform.startswith("linux"):
            self._start_portable()
            return
        try:
            inotify = Inotify()
        except (OSError, AttributeError) as exc:  # no inotify (platform, limits)
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        try:
            self.loop.add_reader(inotify.fd, self._on_readable)
        except NotImplementedError as exc:  # an event loop without add_reader
            inotify.close()
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        self._inotify = inotify

    def _start_portable(self) -> None:
        try:
            from agent.inputs.tail.portable_watcher import PortableWatcher

            portable = PortableWatcher(self.loop, self._notice)
            portable.start()
        except (ImportError, OSError) as exc:
            self.logger.warning("tail: file notifications unavailable (%s); polling", exc)
            return
        self._portable = portable
        self.logger.info("tail: file notifications from watchdog (%s)", portable.kind)

    def watch(self, directory: str) -> None:
        if self._portable is not None:
            try:
                self._portable.watch(directory)
            except OSError as exc:  # gone already, or out of descriptors (kqueue)
                self.logger.warning("tail: cannot watch %s (%s); polling it", directory, exc)
            return
        if self._inotify is None or directory in self._watched:
            return
        try:
            wd = self._inotify.add_watch(directory)
        except OSError as exc:  # e.g. the inotify watch limit is reached
            self.logger.warning("tail: cannot watch %s (%s); polling it", directory, exc)
            return
        self._watched[directory] = wd
        self._directories.setdefault(wd, []).append(directory)

    def stop(self) -> None:
        portable, self._portable = self._portable, None
        if portable is not None:
            portable.stop()
        inotify, self._inotify = self._inotify, None
        if inotify is not None:
            self.loop.remove_reader(inotify.fd)
            inotify.close()
        self._watched.clear()
        self._directories.clear()
