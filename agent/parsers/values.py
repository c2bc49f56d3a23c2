"""Value conversions shared by the parsers: ``Types`` casts, string unescaping, and text
that must be one JSON object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orjson import JSONDecodeError, loads

_INT_RE = re.compile(r"\s*([+-]?\d+)")
_FLOAT_RE = re.compile(
    r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))",
    re.IGNORECASE,
)
_HEX_RE = re.compile(r"\s*([+-]?)(?:0[xX])?([0-9a-fA-F]+)")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_object(text: bytes | str) -> dict[str, Any] | None:
    """``text`` decoded when it is exactly one JSON object, else None; never raises. (The
    ``json`` parser's ``load_object`` is more lenient: it accepts trailing garbage.)"""
    try:
        value = loads(text)
    except JSONDecodeError:
        return None
    return value if type(value) is dict else None


def _to_int(value: str) -> int:
    """C ``atoll``: the leading integer, 0 when there is none, clamped to int64."""
    match = _INT_RE.match(value)
    if match is None:
        return 0
    return max(_INT64_MIN, min(_INT64_MAX, int(match.group(1))))


def _to_float(value: str) -> float:
    """C ``atof``: the leading number, 0.0 when there is none."""
    match = _FLOAT_RE.match(value)
    return float(match.group(1)) if match else 0.0


def _to_hex(value: str) -> int:
    """C ``strtoull(value, NULL, 16)``."""
    match = _HEX_RE.match(value)
    if match is None:
        return 0
    number = int(match.group(2), 16) & (2**64 - 1)
    return (-number) & (2**64 - 1) if match.group(1) == "-" else number


def _to_bool(value: str) -> Any:
    lowered = value[:5].lower()
    if lowered.startswith("true"):
        return True
    if lowered == "false":
        return False
    return value


_CASTS: dict[str, Callable[[str], Any]] = {
    "integer": _to_int,
    "float": _to_float,
    "hex": _to_hex,
    "bool": _to_bool,
    "string": str,
}


def parse_types(spec: str) -> dict[str, Callable[[str], Any]]:
    """``Types k:integer v:float b:bool`` -> key -> cast. Unknown type names keep strings,
    entries without ``:`` are ignored, and the first entry for a key wins (as Fluent Bit)."""
    casts: dict[str, Callable[[str], Any]] = {}
    for item in spec.split():
        key, sep, type_name = item.partition(":")
        if not sep:
            continue
        casts.setdefault(key, _CASTS.get(type_name.lower(), str))
    return casts


_SIMPLE_ESCAPES = {
    "n": "\n",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "\\": "\\",
}


def unescape(value: str) -> str:
    """Decoder ``escaped``: C escapes become their characters; ``\\x`` for any other x is x."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\":
            if i + 1 >= n:
                break
            nxt = value[i + 1]
            out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


_UTF8_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "n": "\n",
    "b": "\b",
    "t": "\t",
    "f": "\f",
    "r": "\r",
    "v": "\v",
    "a": "\a",
}
_OCTAL_RE = re.compile(r"[0-7]{1,3}")
_HEX2_RE = re.compile(r"[0-9a-fA-F]{1,2}")
_HEX4_RE = re.compile(r"[0-9a-fA-F]{1,4}")
_HEX8_RE = re.compile(r"[0-9a-fA-F]{1,8}")


def unescape_utf8(value: str) -> str:
    """Decoder ``escaped_utf8`` (and logfmt quoted values): JSON/C escapes, ``\\uXXXX`` with
    surrogate pairs, ``\\xHH``, ``\\UXXXXXXXX`` and octal. Broken ``\\u`` sequences become
    U+FFFD; a NUL ends the string, as in Fluent Bit."""
    if "\\" not in value:
        return value.split("\0", 1)[0]
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\0":
            break
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = value[i + 1]
        if nxt in _UTF8_ESCAPES:
            out.append(_UTF8_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            match = _OCTAL_RE.match(value, i + 1)
            assert match is not None
            out.append(chr(int(match.group(0), 8)))
            i = match.end()
        elif nxt in "xuU":
            regex = {"x": _HEX2_RE, "u": _HEX4_RE, "U": _HEX8_RE}[nxt]
            match = regex.match(value, i + 2)
            if match is None:
                out.append(nxt)
                i += 2
                continue
            code = int(match.group(0), 16)
            i = match.end()
            if nxt == "u":
                code, i = _surrogates(value, code, len(match.group(0)), i)
            out.append(chr(code) if code < 0x110000 else "\ufffd")
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _surrogates(value: str, code: int, digits: int, i: int) -> tuple[int, int]:
    if digits != 4 or 0xDC00 <= code <= 0xDFFF:
        return 0xFFFD, i
    if not 0xD800 <= code <= 0xDBFF:
        return code, i
    if value.startswith("\\u", i):
        match = _HEX4_RE.match(value, i + 2)
        if match is not None and len(match.group(0)) == 4:
            low = int(match.group(0), 16)
            if 0xDC00 <= low <= 0xDFFF:
                return 0x10000 + ((code - 0xD800) << 10 | (low - 0xDC00)), match.end()
    return 0xFFFD, i


def mysql_unquote(value: str) -> str:
    """Decoder ``mysql_quoted``: strip surrounding quotes and MySQL backslash escapes."""
    if len(value) < 2 or value[0] not in "'\"" or value[-1] != value[0]:
        return value
    inner = value[1:-1]
    quote = value[0]
    out: list[str] = []
    i, n = 0, len(inner)
    mysql = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "Z": "\x1a", "b": "\b"}
    while i < n:
        c = inner[i]
        if c == "\\" and i + 1 < n:
            out.append(mysql.get(inner[i + 1], inner[i + 1]))
            i += 2
        elif c == quote and i + 1 < n and inner[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
