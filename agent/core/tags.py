"""Tag patterns as Fluent Bit matches them: ``*`` matches any run of characters."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z", re.S)


def tag_matches(pattern: str, tag: str) -> bool:
    """Case-sensitive wildcard match of a whole tag (``Match order*``)."""
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern == tag
    return _compile(pattern).match(tag) is not None


class Matching(Protocol):
    """The settings of a filter or output: which tags it takes."""

    @property
    def match(self) -> str | None: ...

    @property
    def match_regex(self) -> str | None: ...


def matcher(config: Matching) -> Callable[[str], bool]:
    """A predicate over tags; an instance with neither Match nor Match_Regex matches nothing."""
    regex = config.match_regex
    if regex is not None:
        compiled = re.compile(regex)
        return lambda tag: compiled.search(tag) is not None
    pattern = config.match
    if pattern is None:
        return lambda tag: False
    return lambda tag: tag_matches(pattern, tag)
