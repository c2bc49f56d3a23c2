"""Routing: which filters and outputs a tag reaches (``Match`` wildcard or ``Match_Regex``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

from agent.core.options import Settings
from agent.core.tags import tag_matches

T = TypeVar("T")


def matcher(settings: Settings) -> Callable[[str], bool]:
    """A predicate over tags; an instance with neither Match nor Match_Regex matches nothing."""
    regex = settings.get("match_regex")
    if regex is not None:
        compiled = re.compile(regex)
        return lambda tag: compiled.search(tag) is not None
    pattern = settings.get("match")
    if pattern is None:
        return lambda tag: False
    return lambda tag: tag_matches(pattern, tag)


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
