"""Byte-line helpers shared by the tail input and the multiline engine.

Lines stay ``bytes`` until a parser needs text; invalid UTF-8 is only looked for when a parse
fails (orjson rejects it), so valid input pays nothing for the check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

ParseResult = "tuple[float | None, dict[str, Any]] | None"
AnyParser = Callable[[bytes | str], Any]


def decode(line: bytes) -> tuple[str, bool]:
    """Text of ``line`` and whether it needed U+FFFD replacements."""
    try:
        return line.decode("utf-8"), False
    except UnicodeDecodeError:
        return line.decode("utf-8", "replace"), True


def parse_line(parse: AnyParser, line: bytes) -> tuple[Any, bool]:
    """Run ``parse`` on ``line``; on failure retry once with invalid UTF-8 replaced.

    Returns the parser's result (or None) and whether the line held invalid UTF-8.
    """
    result = parse(line)
    if result is not None:
        return result, False
    return retry_invalid_utf8(parse, line)


def retry_invalid_utf8(parse: AnyParser, line: bytes) -> tuple[Any, bool]:
    """After ``parse(line)`` failed: if ``line`` is invalid UTF-8, parse it with the bad
    bytes replaced. Returns the result (or None) and whether the line was invalid."""
    text, bad = decode(line)
    if not bad:
        return None, False
    return parse(text), True


# Whole seconds already parsed, by their "YYYY-MM-DDTHH:MM:SS" text (bounded).
_SECONDS: dict[str, int] = {}


def parse_rfc3339(value: str) -> float | None:
    """Seconds since the epoch of a docker/CRI timestamp (nanosecond fractions allowed)."""
    # Fast path for what docker and containerd write (``...T12:34:56.123456789Z``): the
    # whole second is parsed once per second of log, the fraction is added as Fluent Bit
    # does (seconds + nanoseconds / 1e9, one double), so times print as its do.
    if len(value) > 21 and value[19] == "." and value[-1] == "Z":
        digits = value[20:-1]
        if digits.isdigit() and digits.isascii():
            head = value[:19]
            seconds = _SECONDS.get(head)
            if seconds is None:
                seconds = _whole_second(head)
                if seconds is None:
                    return None
                if len(_SECONDS) >= 4096:
                    _SECONDS.clear()
                _SECONDS[head] = seconds
            if len(digits) == 9:
                return seconds + int(digits) / 1e9
            return seconds + int(digits[:9].ljust(9, "0")) / 1e9
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    nanos = 0
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        nanos = int(text[dot + 1 : end][:9].ljust(9, "0"))
        text = text[:dot] + text[end:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return int(moment.timestamp()) + nanos / 1e9


def _whole_second(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text + "+00:00")
    except ValueError:
        return None
    return int(moment.timestamp())
