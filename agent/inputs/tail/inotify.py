"""Directory notifications from Linux's inotify, read by the event loop itself.

The inotify descriptor is read with ``add_reader``, not by threads: with a thousand busy
files, notifications arrive by the thousand per second, and handing each one across threads
cost more than the reads they announce. libc is reached through ctypes (no dependency).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import struct
import sys
from collections.abc import Callable

# Called with (watched directory, entry name, whether entries appeared, vanished or moved),
# as portable_watcher's observer reports them too.
Notice = Callable[[str, str, bool], None]

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


class InotifyWatch:
    """Watches directories (non-recursively) with one inotify descriptor, read on the loop.

    Reports each event through ``notice``; ``lost`` when notifications were lost or a watched
    directory vanished (a rescan is needed); ``failed`` when the descriptor broke (after
    which this watch is stopped).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        notice: Notice,
        lost: Callable[[], None],
        failed: Callable[[OSError], None],
    ) -> None:
        self.loop = loop
        self.notice = notice
        self.lost = lost
        self.failed = failed
        self._inotify: Inotify | None = None
        self._watched: dict[str, int] = {}
        # One watch per directory inode: names that reach the same directory (a relative
        # Path and a resolved symlink target) share it, and each gets the paths it would.
        self._directories: dict[int, list[str]] = {}

    def start(self) -> None:
        """Raises ``OSError`` (or ``AttributeError``: no inotify in libc) when inotify is
        not available, ``NotImplementedError`` for an event loop without ``add_reader``."""
        inotify = Inotify()
        try:
            self.loop.add_reader(inotify.fd, self._on_readable)
        except NotImplementedError:
            inotify.close()
            raise
        self._inotify = inotify

    def _on_readable(self) -> None:
        assert self._inotify is not None
        try:
            events = self._inotify.read()
        except OSError as exc:
            self.stop()
            self.failed(exc)
            return
        notice = self.notice
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                # Some notifications were lost: rescan, which also visits every file.
                self.lost()
                continue
            directories = self._directories.get(wd)
            if directories is None:
                continue
            if mask & IN_IGNORED:
                # The directory is gone (or unmounted): poll what was in it.
                del self._directories[wd]
                for directory in directories:
                    self._watched.pop(directory, None)
                self.lost()
                continue
            text = os.fsdecode(name)
            structural = bool(mask & STRUCTURAL)
            for directory in directories:
                notice(directory, text, structural)

    def watch(self, directory: str) -> None:
        """Raises ``OSError`` if the directory cannot be watched (e.g. the watch limit)."""
        if self._inotify is None or directory in self._watched:
            return
        wd = self._inotify.add_watch(directory)
        self._watched[directory] = wd
        self._directories.setdefault(wd, []).append(directory)

    def covers(self, directory: str) -> bool:
        return directory in self._watched

    def stop(self) -> None:
        inotify, self._inotify = self._inotify, None
        if inotify is not None:
            self.loop.remove_reader(inotify.fd)
            inotify.close()
        self._watched.clear()
        self._directories.clear()
