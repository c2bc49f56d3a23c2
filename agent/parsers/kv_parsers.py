"""``Format logfmt`` and ``Format ltsv``: key/value lines, scanned as Fluent Bit scans them.

Both stop at the first line break that directly follows a pair, fail when no pair was found,
and fail as a whole when the time key holds a value ``Time_Format`` rejects.

logfmt: keys are runs of bytes above space other than ``=`` and ``"``; values are bare runs
or double-quoted strings with backslash escapes. A bare key (``debug``) or an empty bare
value (``a=``) is ``true``; with ``Logfmt_No_Bare_Keys On`` a bare key fails the parse.
When ``Types`` is set every value goes through it raw (no unescaping, bare keys are "").

ltsv: ``label:value`` fields separated by tabs; labels are ``[0-9A-Za-z_.-]``.
"""

from __future__ import annotations

import re
from typing import Any

from logtide.agent.parsers.base import Parser, ParserConfig, ParseResult, as_text
from logtide.agent.parsers.values import unescape_utf8

_GARBAGE = re.compile(r'[\x00-\x20"=]*')
_IDENT = re.compile(r'[^\x00-\x20"=]*')
_QUOTED = re.compile(r'(?:[^"\\]|\\[\s\S]?)*')
_LABEL = re.compile(r"[0-9A-Za-z_.\-]*")
_FIELD = re.compile(r"[^\x00\t\n\r]*")


# One scanned pair: its key, the value as the line spells it (what the time key and ``Types``
# read), and the value stored without ``Types``.
Pair = tuple[str, str, Any]


def _record(config: ParserConfig, pairs: list[Pair]) -> ParseResult | None:
    """The time key, ``Types`` and decoders over one line's pairs, as both formats apply them."""
    time_format = config.time_format
    types = config.types
    record: dict[str, Any] = {}
    parsed_time: float | None = None
    for key, raw, plain in pairs:
        if time_format is not None and key == config.time_key and raw:
            resolved = time_format.parse(raw)
            if resolved is None:
                return None
            parsed_time = resolved or None
            if not config.time_keep:
                continue
        if types:
            cast = types.get(key)
            record[key] = cast(raw) if cast is not None else raw
        else:
            record[key] = plain
    if not record:
        return None
    if config.decoders:
        record = config.decoders.apply(record)
    return parsed_time, record


class LogfmtParser(Parser):
    format_name = "logfmt"

    def parse(self, data: bytes | str) -> ParseResult | None:
        pairs = _logfmt_pairs(as_text(data), self.config.logfmt_no_bare_keys)
        return None if pairs is None else _record(self.config, pairs)


def _logfmt_pairs(text: str, no_bare_keys: bool) -> list[Pair] | None:
    pairs: list[Pair] = []
    pos, end = 0, len(text)
    while pos < end:
        pos = _GARBAGE.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        ident = _IDENT.match(text, pos)
        assert ident is not None
        key = ident.group()
        pos = ident.end()
        value = ""
        value_set = quoted = False
        if pos < end and text[pos] == "=":
            value_set = True
            pos += 1
            if pos < end:
                if text[pos] == '"':
                    body = _QUOTED.match(text, pos + 1)
                    assert body is not None
                    value, pos, quoted = body.group(), body.end(), True
                    if pos < end and text[pos] == '"':
                        pos += 1
                else:
                    bare = _IDENT.match(text, pos)
                    assert bare is not None
                    value, pos = bare.group(), bare.end()
        if no_bare_keys and not value and not value_set:
            return None
        plain: Any = value
        if not value:
            plain = "" if quoted else True
        elif quoted and "\\" in value:
            plain = unescape_utf8(value)
        pairs.append((key, value, plain))
        if pos >= end or text[pos] in "\r\n":
            break
    return pairs


class LtsvParser(Parser):
    format_name = "ltsv"

    def parse(self, data: bytes | str) -> ParseResult | None:
        return _record(self.config, _ltsv_pairs(as_text(data)))


def _ltsv_pairs(text: str) -> list[Pair]:
    pairs: list[Pair] = []
    pos, end = 0, len(text)
    while pos < end:
        label_match = _LABEL.match(text, pos)
        assert label_match is not None
        label = label_match.group()
        pos = label_match.end()
        if pos >= end or text[pos] != ":":
            break
        field_match = _FIELD.match(text, pos + 1)
        assert field_match is not None
        value = field_match.group()
        pos = field_match.end()
        if label:
            pairs.append((label, value, value))
        if pos >= end:
            break
        if text[pos] == "\t":
            pos += 1
        if pos >= end or text[pos] in "\r\n":
            break
    return pairs
