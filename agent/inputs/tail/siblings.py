"""Where did a file go? Its rotated generations, looked for beside the original path.

kubelet renames ``0.log`` to ``0.log.20261127-101500``; logrotate renames ``app.log`` to
``app.log.1`` (or ``app-20261127.log`` with dateext). Both keep the rotated file in the same
directory, so a file we know by inode is looked for among the siblings whose name starts
with the original name's stem.
"""

from __future__ import annotations

import os


def _candidates(path: str) -> list[str]:
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [
        os.path.join(folder, name)
        for name in sorted(names)
        if name != base and (name.startswith(base) or name.startswith(stem))
    ]


def siblings(path: str) -> list[str]:
    """Files beside ``path`` whose names look like its rotated generations."""
    return _candidates(path)


def is_sibling(path: str, other: str) -> bool:
    """Whether ``other`` is ``path`` itself or looks like one of its rotated generations."""
    if os.path.dirname(path) != os.path.dirname(other):
        return False
    base, name = os.path.basename(path), os.path.basename(other)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return name.startswith(base) or name.startswith(stem)


def find_beside(path: str, dev: int, inode: int) -> str | None:
    """A sibling of ``path`` that is the file (dev, inode), or None."""
    for candidate in _candidates(path):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_ino == inode and (dev == 0 or st.st_dev == dev):
            return candidate
    return None


def locate(path: str, inode: int) -> str | None:
    """``path`` if it still is ``inode``, else a rotated sibling holding it, else None."""
    try:
        if os.stat(path).st_ino == inode:
            return path
    except OSError:
        pass
    return find_beside(path, 0, inode)
