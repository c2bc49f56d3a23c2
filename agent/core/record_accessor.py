"""Fluent Bit's record accessor: the one parser and evaluator of ``$key['a'][0]``.

Every place that names a field of a record uses it: the filters' keys (grep, modify, parser),
cloudwatch_logs' group and stream templates, and the record fields of ``s3_key_format``.
The syntax is Fluent Bit's (``flb_ra_parser``: its lexer and grammar)::

    accessor   $ KEY SUBSCRIPT*
    KEY        a letter or _, then letters, digits, _ and .
    SUBSCRIPT  [ 'text' ]  with '' for a quote inside   (a map key)
               [ "text" ]                                (a map key; logtide also takes these)
               [ N ]       N a whole number, no sign     (an array index)

Spaces around a subscript's content are ignored. In a template (text with accessors in it)
a ``.`` ends the key, as Fluent Bit's template splitter has it, so
``$kubernetes['namespace_name'].$host`` is two accessors joined by a dot; ``$TAG`` (the tag)
and ``$TAG[n]`` (its n-th dot-separated part) come first, so ``$TAG_x`` is the tag then
``_x``; a ``$`` that starts neither is literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.serialize import dumps

MISSING: Any = object()

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_TEMPLATE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBSCRIPT = re.compile(r"""\[[ \t]*(?:'((?:[^']|'')*)'|"([^"]*)"|(0|[1-9][0-9]*))[ \t]*\]""")
_TAG = re.compile(r"\$TAG(?:\[(\d+)\])?")

Path = tuple[str | int, ...]


class RecordAccessor:
    """Reads one (possibly nested) value out of a record.

    ``RecordAccessor("$a['b'][0]")`` parses the whole text as one accessor (a config error
    otherwise); a text without ``$`` names one top-level key as it stands, as Fluent Bit's
    filters take a plain key name.
    """

    __slots__ = ("key", "path", "pattern")
    key: str
    path: Path

    def __init__(self, pattern: str, location: Location | None = None) -> None:
        self.pattern = pattern
        if not pattern.startswith("$"):
            if not pattern:
                raise ConfigError("invalid record accessor '': no key", location)
            self.key, self.path = pattern, ()
            return
        parsed = _scan(pattern, 0, _KEY)
        if parsed is None or parsed[2] != len(pattern):
            raise ConfigError(
                f"invalid record accessor {pattern!r}: use $key, $key['sub'] or $key[0]",
                location,
            )
        self.key, self.path, _ = parsed

    @classmethod
    def _parsed(cls, pattern: str, key: str, path: Path) -> RecordAccessor:
        accessor = cls.__new__(cls)
        accessor.pattern, accessor.key, accessor.path = pattern, key, path
        return accessor

    @property
    def nested(self) -> bool:
        return bool(self.path)

    def get(self, record: dict[str, Any]) -> Any:
        """The value, or :data:`MISSING`."""
        value = record.get(self.key, MISSING)
        for step in self.path:
            if type(step) is int:
                if type(value) is not list or step >= len(value):
                    return MISSING
                value = value[step]
            else:
                if type(value) is not dict:
                    return MISSING
                value = value.get(step, MISSING)
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordAccessor) and (self.key, self.path) == (
            other.key,
            other.path,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.path))

    def __repr__(self) -> str:
        return f"RecordAccessor({self.pattern!r})"


def _scan(
    text: str, pos: int, key_re: re.Pattern[str]
) -> tuple[str, tuple[str | int, ...], int] | None:
    """``(key, path, end)`` of the accessor whose ``$`` is at ``pos``; None if no key follows.
    Subscripts are read as long as they parse; the caller decides what may follow."""
    match = key_re.match(text, pos + 1)
    if match is None:
        return None
    path: list[str | int] = []
    end = match.end()
    while (sub := _SUBSCRIPT.match(text, end)) is not None:
        single, double, index = sub.groups()
        if index is not None:
            path.append(int(index))
        elif single is not None:
            path.append(single.replace("''", "'"))
        else:
            path.append(double)
        end = sub.end()
    return match.group(0), tuple(path), end


def accessor_at(text: str, pos: int) -> tuple[RecordAccessor, int] | None:
    """The accessor a template holds at ``pos`` (a ``$``) and where it ends; None when no
    key follows the ``$`` (a literal ``$``)."""
    parsed = _scan(text, pos, _TEMPLATE_KEY)
    if parsed is None:
        return None
    key, path, end = parsed
    return RecordAccessor._parsed(text[pos:end], key, path), end


@dataclass(frozen=True, slots=True)
class TagRef:
    """``$TAG`` (``part`` None) or ``$TAG[part]``."""

    part: int | None

    def text(self, tag: str) -> str | None:
        """What this writes for ``tag``; None for a part the tag does not have."""
        if self.part is None:
            return tag
        parts = tag.split(".")
        return parts[self.part] if self.part < len(parts) else None


@dataclass(frozen=True, slots=True)
class GroupRef:
    """``$0``..``$9``: the whole match or a capture group of the regex the caller matched."""

    index: int


Piece = str | TagRef | GroupRef | RecordAccessor

_GROUP = re.compile(r"\$(\d)")
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


def value_text(value: Any, *, sort_keys: bool = False) -> str:
    """A value as a template writes it: strings as they are, ``true``/``false``, numbers,
    anything else (maps, arrays, null) as compact JSON, its maps' keys sorted if asked."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return dumps(value, sort_keys=sort_keys).decode()


class Template:
    """Text with ``$TAG``, ``$TAG[n]`` and record accessors in it (Fluent Bit's
    ``flb_ra_translate``). With ``captures`` (rewrite_tag's new tag) it also takes ``$0``..``$9``
    (the regex match :meth:`fill` is given) and ``${key}``.

    :meth:`render` returns the text, or None when the tag has no such part or the record no
    such key (the caller falls back to a static name, as ``flb_ra_translate_check`` lets
    Fluent Bit's plugins do); :meth:`fill` leaves such pieces out instead."""

    def __init__(self, text: str, *, captures: bool = False) -> None:
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
            elif captures and (group := _GROUP.match(text, dollar)) is not None:
                piece, end = GroupRef(int(group.group(1))), group.end()
            elif captures and (braced := _BRACED.match(text, dollar)) is not None:
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

    @property
    def is_static(self) -> bool:
        return all(isinstance(piece, str) for piece in self.pieces)

    def for_tag(self, tag: str, groups: int) -> Template:
        """This template as :meth:`fill` renders it under ``tag`` for a regex of ``groups``
        capture groups: the tag's parts written in, the groups such a regex never fills left
        out, neighbouring texts joined. A caller filling many records of one tag builds it
        once, so each record renders only what differs from record to record."""
        bound: list[Piece] = []
        for piece in self.pieces:
            if isinstance(piece, TagRef):
                piece = piece.text(tag) or ""
            elif isinstance(piece, GroupRef) and not (groups and piece.index <= groups):
                piece = ""
            if isinstance(piece, str) and bound and isinstance(bound[-1], str):
                bound[-1] += piece
            elif not isinstance(piece, str) or piece:
                bound.append(piece)
        texts = [piece for piece in bound if isinstance(piece, str)]
        template = Template.__new__(Template)
        template.text = "".join(texts) if len(texts) == len(bound) else self.text
        template.pieces = bound
        return template

    def render(self, tag: str, record: dict[str, Any]) -> str | None:
        return self._render(tag, record, None, strict=True)

    def fill(self, tag: str, record: dict[str, Any], match: re.Match[str] | None = None) -> str:
        """The text with every piece the tag, record or match lacks left out (capture
        groups are all empty when the regex has none, as Fluent Bit's regex results are)."""
        return self._render(tag, record, match, strict=False) or ""

    def _render(
        self, tag: str, record: dict[str, Any], match: re.Match[str] | None, *, strict: bool
    ) -> str | None:
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, TagRef):
                text = piece.text(tag)
                if text is not None:
                    out.append(text)
                elif strict:
                    return None
            elif isinstance(piece, GroupRef):
                groups = match.re.groups if match is not None else 0
                if match is not None and groups and piece.index <= groups:
                    out.append(match.group(piece.index) or "")
            else:
                value = piece.get(record)
                if value is not MISSING:
                    out.append(value_text(value))
                elif strict:
                    return None
        return "".join(out)
