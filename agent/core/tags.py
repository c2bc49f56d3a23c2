"""Tag patterns as Fluent Bit matches them: ``*`` matches any run of characters."""

from __future__ import annotations

import re
from functools import lru_cache


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
