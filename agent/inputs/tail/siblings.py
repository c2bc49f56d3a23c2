"""Where did a file go? Its rotated generations, looked for where the rotation put them.

kubelet renames ``0.log`` to ``0.log.20261127-101500``; logrotate renames ``app.log`` to
``app.log.1`` (or ``app-20261127.log`` with dateext). Both keep the rotated file in the same
directory as the file. A path the glob matched may be a link, as every
``/var/log/containers/*.log`` is (it names ``/var/log/pods/<pod>/<container>/0.log``): kubelet
rotates the file the link names, so the generations are beside that file, not beside the
link. A file we know by inode is looked for in both places, among names that are the
original name or its stem followed by ``.``, ``-`` or ``_`` (so ``10.log`` is not a
generation of ``1.log``). Compressed generations (kubelet gzips all but the newest,
logrotate's ``compress``) are not lines to read and are never candidates; neither is a
``.tmp`` (kubelet writes each gzip as ``<generation>.tmp`` first). ``compressed.py`` reads
the unread rest of a file from its ``.gz``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip")
_NOT_LINES = (*_COMPRESSED, ".tmp")
_SEPARATORS = (".", "-", "_")
T = TypeVar("T")


def _places(path: str) -> list[tuple[str, str]]:
    """(folder, name) pairs where ``path``'s generations can be: beside it, and beside the
    file it names when it is a link."""
    places = [_split(path)]
    real = os.path.realpath(path)
    if real != os.path.abspath(path):
        places.append(_split(real))
    return places


def _split(name: str) -> tuple[str, str]:
    return os.path.dirname(name) or ".", os.path.basename(name)


def _leads(base: str) -> tuple[str, str]:
    """What a generation of a file named ``base`` begins with, before a separator: the name
    and its stem (``app.log.1``, ``app-20261127.log``)."""
    return base, base.rsplit(".", 1)[0] if "." in base else base


def _led_by(name: str) -> Iterator[str]:
    """The parts of ``name`` before each of its separators: the leads of the files it may
    be a generation of (none for a compressed or partial one)."""
    if name.endswith(_NOT_LINES):
        return
    for i, char in enumerate(name):
        if char in _SEPARATORS:
            yield name[:i]


def _is_generation(base: str, name: str) -> bool:
    """Whether ``name`` looks like a rotated, uncompressed generation of a file named
    ``base`` in the same folder."""
    if name == base or name.endswith(_NOT_LINES):
        return False
    return any(
        name.startswith(lead) and name[len(lead) : len(lead) + 1] in _SEPARATORS
        for lead in _leads(base)
    )


def named_beside(name: str, path: str) -> bool:
    """Whether ``name`` is named as a rotated generation of ``path``, in its folder."""
    return os.path.dirname(name) == os.path.dirname(path) and _is_generation(
        os.path.basename(path), os.path.basename(name)
    )


def generations_last(paths: Iterable[str]) -> list[str]:
    """``paths`` with those named as a rotated generation of another of them (beside it)
    after the rest: a file's checkpoint row then claims its copy (copytruncate while the
    agent was down) before the copy, matched too, is opened as a file of its own."""
    owners: dict[tuple[str, str], set[str]] = {}
    for path in paths:
        folder, base = _split(path)
        for lead in _leads(base):
            owners.setdefault((folder, lead), set()).add(base)
    first: list[str] = []
    last: list[str] = []
    for path in paths:
        folder, base = _split(path)
        later = any(owners.get((folder, lead), set()) - {base} for lead in _led_by(base))
        (last if later else first).append(path)
    return first + last


def _beside(path: str) -> Iterator[tuple[str, str, str]]:
    """(folder, name ``path`` has there, name of an entry) for every entry of the folders
    where ``path``'s generations can be, in name order."""
    for folder, base in _places(path):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in sorted(names):
            yield folder, base, name


def siblings(path: str) -> list[str]:
    """Files that look like ``path``'s rotated generations."""
    found: list[str] = []
    for folder, base, name in _beside(path):
        candidate = os.path.join(folder, name)
        if _is_generation(base, name) and candidate not in found:
            found.append(candidate)
    return found


def generations_of(path: str, suffix: str) -> list[str]:
    """Files named as ``path`` or one of its generations with ``suffix`` added (``.gz``:
    the compressed ones), where :func:`siblings` looks."""
    found: list[str] = []
    for folder, base, name in _beside(path):
        plain = name.removesuffix(suffix)
        if plain != name and (plain == base or _is_generation(base, plain)):
            found.append(os.path.join(folder, name))
    return found


class Family:
    """Which names belong to ``path``: itself, the file it names, and their generations.
    Built once per path (it resolves the link), then asked about many names."""

    def __init__(self, path: str) -> None:
        self._places = _places(path)

    def __contains__(self, name: str) -> bool:
        folder, base = _split(name)
        return any(
            folder == place and (base == own or _is_generation(own, base))
            for place, own in self._places
        )


class FamilyIndex(Generic[T]):
    """Values filed under file names, then asked for by path: those whose name belongs to
    the path's :class:`Family`, without testing every name against every path (a thousand
    links share ``/var/log/containers``)."""

    def __init__(self) -> None:
        self._named: dict[tuple[str, str], list[T]] = {}
        # Under each (folder, part of a name before one of its separators).
        self._generations: dict[tuple[str, str], list[T]] = {}

    def add(self, name: str, value: T) -> None:
        folder, base = _split(name)
        self._named.setdefault((folder, base), []).append(value)
        for lead in _led_by(base):
            self._generations.setdefault((folder, lead), []).append(value)

    def of(self, path: str) -> list[T]:
        """The values of the names that are ``path``, the file it names, or a generation."""
        found: list[T] = []
        for folder, own in _places(path):
            found += self._named.get((folder, own), ())
            for lead in set(_leads(own)):
                found += self._generations.get((folder, lead), ())
        return found


class Followed:
    """Which of ``paths`` (what the globs match) a rotated file's name is a generation of:
    the path its lines are tagged by, as they were before the rotation."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._owners: dict[str, list[tuple[str, str]]] = {}
        for path in paths:
            for folder, own in _places(path):
                self._owners.setdefault(folder, []).append((own, path))

    def __call__(self, name: str) -> str:
        """The path ``name`` belongs to; ``name`` itself when none matches any more."""
        folder, base = _split(name)
        for own, path in self._owners.get(folder, ()):
            if base == own or _is_generation(own, base):
                return path
        return name


def find_beside(path: str, dev: int, inode: int) -> str | None:
    """A generation of ``path`` that is the file (dev, inode), or None."""
    for candidate in siblings(path):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_ino == inode and (dev == 0 or st.st_dev == dev):
            return candidate
    return None


def locate(path: str, inode: int) -> str | None:
    """``path`` if it still is ``inode``, else a rotated generation holding it, else None."""
    try:
        if os.stat(path).st_ino == inode:
            return path
    except OSError:
        pass
    return find_beside(path, 0, inode)
