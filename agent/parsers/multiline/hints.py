"""The batch test of the multiline engine: whether a chunk's lines can pass with no
per-line work, found by searching their contents joined for the substrings (hints) one of
which every line a rule could take holds."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

from logtide.agent.core.events import Event
from logtide.agent.parsers.multiline.spec import Rule

if TYPE_CHECKING:
    from logtide.agent.parsers.multiline.groups import Group, Parser

# (substring, its characters): a text lacking one of the characters (a scan as fast as
# memchr) cannot hold the substring (a slower scan).
Needles = tuple[tuple[str, tuple[str, ...]], ...]

# Space and the lowercase letters by how often English text has them, most often first.
_COMMON = " etaoinshrdlcumwfgypbvkjxqz"


def _rarity(char: str) -> tuple[bool, int]:
    """Sort key putting the characters a log line is least likely to hold first: capitals,
    digits and punctuation, then the rarer letters."""
    return (char in _COMMON, -_COMMON.find(char))


def needles_of(rules: tuple[Rule, ...]) -> Needles | None:
    """The hints of ``rules``, each with its characters, rarest first; None when one of
    them has no hint (no batch test is possible)."""
    hints = {part for rule in rules for part in rule.hint}
    if not all(rule.hint for rule in rules) or not all(p and "\0" not in p for p in hints):
        return None
    # A hint holding another is implied by it: one scan fewer.
    return tuple(
        (part, tuple(sorted(set(part), key=_rarity)))
        for part in sorted(hints)
        if not any(other != part and other in part for other in hints)
    )


def holds(text: str, needle: str, chars: tuple[str, ...]) -> bool:
    """Whether ``text`` holds ``needle``, whose characters ``chars`` are, rarest first.

    A text lacking one of them cannot (each test as fast as memchr). Else the rarest one's
    few occurrences are tried as the needle's place; where that character is common, a
    substring scan from the first place not yet tried."""
    for char in chars:
        if char not in text:
            return False
    anchor = chars[0]
    offset = needle.index(anchor)
    budget = len(text) >> 10
    find = text.find
    at = find(anchor)
    while at >= 0:
        if at >= offset and text.startswith(needle, at - offset):
            return True
        budget -= 1
        if budget < 0:
            return find(needle, max(at - offset, 0)) >= 0
        at = find(anchor, at + 1)
    return False


def passes(group: Group, parser: Parser, events: list[Event], key: str) -> bool:
    """Whether every line of ``events`` passes ``parser`` (one plain regex parser whose
    ungrouped group is ``group``) untouched: nothing held, and no hint of a rule that could
    take a line in any ``key``. One search of the batch's contents joined instead of tests
    line by line; updates what passing lines would (the group's last time)."""
    if group.pieces or group.pending is not None:
        return False
    needles = parser.needles(group.rule)
    if needles is None:
        return False
    try:
        # NUL is in no hint, so no hint found in the joined text spans two lines.
        text = "\0".join(map(itemgetter(key), map(itemgetter(1), events)))
    except (KeyError, TypeError):
        return False  # a record without a string content: the line-by-line path
    for needle, chars in needles:
        if holds(text, needle, chars):
            return False
    for stamp, record in reversed(events):
        if type(record[key]) is str:
            group.last = stamp
            break
    return True
