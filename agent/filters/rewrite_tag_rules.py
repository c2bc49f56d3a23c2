"""``rewrite_tag`` rules: ``Rule $KEY REGEX NEW_TAG KEEP`` parsed once, and the new tag's
template.

As Fluent Bit's filter has them: KEY is a record accessor (``$kubernetes['labels']['app']``);
only a string value can match (a number never does); REGEX is searched (Onigmo syntax, as
every logtide regex); NEW_TAG may hold ``$TAG``, ``$TAG[n]`` (the n-th dot-separated part of
the tag), ``$0``..``$9`` (the whole match and the capture groups; all empty when the regex has
no group, as Fluent Bit's regex results are) and record accessors (``$key``, ``$a['b']``, and
``${key}`` for a top-level key); a missing part or key adds nothing. KEEP (``true``/``on``/
``yes``, anything else is false) keeps the original record beside the re-tagged copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.record_accessor import GroupRef, RecordAccessor, Template
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby

TagWriter = Callable[[dict[str, Any], "re.Match[str]"], str]


@dataclass(frozen=True, slots=True)
class Rule:
    key: RecordAccessor
    regex: re.Pattern[str]
    tag: Template
    keep: bool

    def match(self, record: dict[str, Any]) -> re.Match[str] | None:
        value = self.key.get(record)
        if type(value) is not str:
            return None
        return self.regex.search(value)

    def writer(self, tag: str) -> TagWriter:
        """``write(record, match)``: the new tag of a record of ``tag`` this rule matched.

        Built once per chunk: the tag's parts are written in then, and when the new tag
        takes nothing from the record but capture groups, a chunk's records that captured
        the same text share one rendering."""
        bound = self.tag.for_tag(tag, self.regex.groups)
        if bound.is_static:
            text = bound.text
            return lambda record, found: text
        if any(isinstance(piece, RecordAccessor) for piece in bound.pieces):
            return lambda record, found: bound.fill(tag, record, found)
        indices = [piece.index for piece in bound.pieces if isinstance(piece, GroupRef)]
        written: dict[Any, str] = {}

        def write(record: dict[str, Any], found: re.Match[str]) -> str:
            captured = found.group(*indices)
            text = written.get(captured)
            if text is None:
                text = written[captured] = bound.fill(tag, record, found)
            return text

        return write


def parse_rule(text: str, location: Location) -> Rule:
    """One ``Rule`` value; a :class:`ConfigError` naming the rule otherwise."""
    parts = text.split()
    if len(parts) != 4:
        raise ConfigError(
            f"filter 'rewrite_tag': Rule expects '$KEY REGEX NEW_TAG KEEP', got {text!r}",
            location,
        )
    key, pattern, new_tag, keep = parts
    try:
        regex = compile_ruby(pattern)
    except RegexSyntaxError as exc:
        raise ConfigError(f"filter 'rewrite_tag': Rule {text!r}: {exc}", location) from None
    accessor = RecordAccessor(key, location)
    return Rule(
        accessor, regex, Template(new_tag, captures=True), keep.lower() in ("true", "on", "yes")
    )
