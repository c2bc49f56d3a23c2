"""Routing: which filters and outputs a tag reaches (``Match`` wildcard or ``Match_Regex``,
see :func:`logtide.agent.core.tags.matcher`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Routes(Generic[T]):
    """Destinations per tag, computed once per distinct tag (tags repeat endlessly)."""

    def __init__(self, destinations: list[tuple[Callable[[str], bool], T]]) -> None:
        self._destinations = destinations
        self._cache: dict[str, list[T]] = {}

    def __call__(self, tag: str) -> list[T]:
        found = self._cache.get(tag)
        if found is None:
            found = [dest for matches, dest in self._destinations if matches(tag)]
            if len(self._cache) < 65536:
                self._cache[tag] = found
        return found
