"""``Format json``: one JSON object per payload (Fluent Bit's yyjson reader semantics).

- Only a JSON object is a record; an array, a scalar, an empty or broken payload does not
  parse (the caller keeps the record unchanged).
- Surrounding whitespace is fine, and so is trailing garbage after the object; a second JSON
  value after the first makes the payload unparseable (two records).
- Integers beyond the unsigned 64-bit range become floats; duplicate keys keep the first
  position and the last value; invalid UTF-8 is replaced with U+FFFD.
- ``Types`` does not apply to JSON (values keep their JSON types), as in Fluent Bit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from orjson import JSONDecodeError, loads

from logtide.agent.parsers.base import Parser, ParserConfig, ParseResult, as_text

_WS = " \t\n\r"
_UINT64_MAX = 2**64 - 1
_INT64_MIN = -(2**63)


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if _INT64_MIN <= value <= _UINT64_MAX else float(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_constant=_reject_constant)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    """Lone surrogate escapes (``"\\ud800"``), which only the slow path accepts, become
    U+FFFD like invalid UTF-8 does: no output can encode them, and one such record would
    fail its whole batch on every retry."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def _first_value(text: str) -> Any:
    """The slow path: invalid UTF-8 (already replaced) or content after the first value."""
    try:
        return loads(text)
    except JSONDecodeError:
        pass
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    value = _scrub(value)
    rest = len(text) - len(text[end:].lstrip(_WS))
    if rest < len(text):
        try:
            _DECODER.raw_decode(text, rest)
        except (ValueError, RecursionError):
            return value
        return None
    return value


def load_object(data: bytes | str) -> dict[str, Any] | None:
    """A JSON object from ``data``, or None; never raises."""
    try:
        value = loads(data)
    except JSONDecodeError:
        value = _first_value(as_text(data))
    return value if type(value) is dict else None


class JsonParser(Parser):
    format_name = "json"

    def __init__(self, config: ParserConfig) -> None:
        super().__init__(config)
        if config.time_format is None and not config.decoders.rules:
            self.loads = loads

    def parse(self, data: bytes | str) -> ParseResult | None:
        try:
            record = loads(data)
        except JSONDecodeError:
            record = _first_value(as_text(data))
        if type(record) is not dict:
            return None
        config = self.config
        if config.decoders.rules:  # the attribute, not Decoders.__bool__: this runs per record
            record = config.decoders.apply(record)
        time_format = config.time_format
        if time_format is None:
            return None, record
        value = record.get(config.time_key)
        if type(value) is not str:
            return None, record
        parsed = time_format.parse(value)
        if parsed is None:
            return None, record
        if not config.time_keep:
            del record[config.time_key]
        return (parsed or None), record
