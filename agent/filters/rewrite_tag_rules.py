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
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.record_accessor import (
    MISSING,
    RecordAccessor,
    TagRef,
    accessor_at,
    value_text,
)
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby

_TAG = re.compile(r"\$TAG(?:\[(\d+)\])?")
_GROUP = re.compile(r"\$(\d)")
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")

Piece = str | TagRef | RecordAccessor | int  # an int is a capture group


class TagTemplate:
    """NEW_TAG, split once into literal text, tag parts, capture groups and accessors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[Piece] = []
        literal: list[str] = []
        pos = 0
        while (dollar := text.find("$", pos)) != -1:
            literal.append(text[pos:dollar])
            piece: Piece | None = None
            end = dollar + 1
            if (tag := _TAG.match(text, dollar)) is not None:
                piece = TagRef(int(tag.group(1)) if tag.group(1) is not None else None)
                end = tag.end()
            elif (group := _GROUP.match(text, dollar)) is not None:
                piece, end = int(group.group(1)), group.end()
            elif (braced := _BRACED.match(text, dollar)) is not None:
                piece, end = RecordAccessor(braced.group(1)), braced.end()
            elif (found := accessor_at(text, dollar)) is not None:
                piece, end = found
            if piece is None:
                literal.append("$")
            else:
                if literal:
                    self.pieces.append("".join(literal))
                    literal = []
                self.pieces.append(piece)
            pos = end
        literal.append(text[pos:])
        if "".join(literal):
            self.pieces.append("".join(literal))

    def render(self, tag: str, record: dict[str, Any], match: re.Match[str]) -> str:
        out: list[str] = []
        groups = match.re.groups
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, int):
                if groups and piece <= groups:
                    out.append(match.group(piece) or "")
            elif isinstance(piece, TagRef):
                if piece.part is None:
                    out.append(tag)
                else:
                    parts = tag.split(".")
                    if piece.part < len(parts):
                        out.append(parts[piece.part])
            else:
                value = piece.get(record)
                if value is not MISSING:
                    out.append(value_text(value))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Rule:
    key: RecordAccessor
    regex: re.Pattern[str]
    tag: TagTemplate
    keep: bool

    def match(self, record: dict[str, Any]) -> re.Match[str] | None:
        value = self.key.get(record)
        if type(value) is not str:
            return None
        return self.regex.search(value)


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
    return Rule(accessor, regex, TagTemplate(new_tag), keep.lower() in ("true", "on", "yes"))
