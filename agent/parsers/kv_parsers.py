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

from agent.parsers.base import Parser, ParseResult, as_text
from agent.parsers.values import unescape_utf8

_GARBAGE = re.compile(r'[\x00-\x20"=]*')
_IDENT = re.compile(r'[^\x00-\x20"=]*')
_QUOTED = re.compile(r'(?:[^"\\]|\\[\s\S]?)*')
_LABEL = re.compile(r"[0-9A-Za-z_.\-]*")
_FIELD = re.compile(r"[^\x00\t\n\r]*")


class LogfmtParser(Parser):
    format_name = "logfmt"

    def parse(self, data: bytes | str) -> ParseResult | None:
        text = as_text(data)
        config = self.config
        time_format = config.time_format
        types = config.types
        record: dict[str, Any] = {}
        parsed_time: float | None = None
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
            if config.logfmt_no_bare_keys and not value and not value_set:
                return None
            is_time = time_format is not None and key == config.time_key and bool(value)
            if is_time:
                assert time_format is not None
                resolved = time_format.parse(value)
                if resolved is None:
                    return None
                parsed_time = resolved or None
            if not is_time or config.time_keep:
                if types:
                    cast = types.get(key)
                    record[key] = cast(value) if cast is not None else value
                elif not value:
                    record[key] = "" if quoted else True
                elif quoted and "\\" in value:
                    record[key] = unescape_utf8(value)
                else:
                    record[key] = value
            if pos >= end:
                break
            if text[pos] in "\r\n":
                break
        if not record:
            return None
        if config.decoders:
            record = config.decoders.apply(record)
        return parsed_time, record


class LtsvParser(Parser):
    format_name = "ltsv"

    def parse(self, data: bytes | str) -> ParseResult | None:
        text = as_text(data)
        config = self.config
        time_format = config.time_format
        types = config.types
        record: dict[str, Any] = {}
        parsed_time: float | None = None
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
                is_time = time_format is not None and label == config.time_key and bool(value)
                if is_time:
                    assert time_format is not None
                    resolved = time_format.parse(value)
                    if resolved is None:
                        return None
                    parsed_time = resolved or None
                if not is_time or config.time_keep:
                    cast = types.get(label) if types else None
                    record[label] = cast(value) if cast is not None else value
            if pos >= end:
                break
            if text[pos] == "\t":
                pos += 1
            if pos >= end or text[pos] in "\r\n":
                break
        if not record:
            return None
        if config.decoders:
            record = config.decoders.apply(record)
        return parsed_time, record
