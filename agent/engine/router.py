"""Routing: which filters and outputs a tag reaches (``Match`` wildcard or ``Match_Regex``,
see :func:`logtide.agent.core.tags.matcher`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


# Tags seen at once stay well under this (a node's live container files); when pods come and
# go for days, the tags of gone ones would otherwise fill the cache (~300 bytes each, two
# caches: 40 MB at the 65,536 once allowed), so a full cache starts again.
CACHED_TAGS = 4096


class Routes(Generic[T]):
    """Destinations per tag, computed once per distinct tag (tags repeat endlessly)."""

    def __init__(self, destinations: list[tuple[Callable[[str], bool], T]]) -> None:
        self._destinations = destinations
        self._cache: dict[str, list[T]] = {}

    def __call__(self, tag: str) -> list[T]:
        found = self._cache.get(tag)
        if found is None:
            found = [dest for matches, dest in self._destinations if matches(tag)]
            if len(self._cache) >= CACHED_TAGS:
                self._cache.clear()
            self._cache[tag] = found
        return found
