"""Fluent Bit's GELF rendering of a record (``Format gelf``), one JSON object per line.

The rules, as Fluent Bit 5.1.1 writes them: ``version`` ``1.1`` first; the record's keys in
order, where the keys named by ``gelf_host_key``, ``gelf_short_message_key``,
``gelf_timestamp_key``, ``gelf_level_key`` and ``gelf_full_message_key`` (default: the GELF
names themselves) become ``host``, ``short_message``, ``timestamp``, ``level`` and
``full_message`` (the first occurrence of each); ``id`` is dropped; every other key becomes
``_key``, characters other than letters, digits, ``-``, ``.`` and ``_`` turned into ``_``.
Nulls are left out, booleans become the strings ``"true"``/``"false"``, floats print with
six decimals, maps are flattened into ``_key_sub`` fields and arrays become one string of
their items joined by ``", "``. ``level`` takes 0-7 or a syslog keyword (``err``,
``warning``...). Without a timestamp key the event time is added with millisecond
precision. A record without a short message, or whose level is neither a number nor a
string, has no GELF form: :func:`gelf_record` raises :class:`GelfError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from logtide.agent.core.serialize import dumps
from logtide.agent.core.timestamps import clamp_time

SYSLOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_INVALID = re.compile(r"[^A-Za-z0-9._\-]")


class GelfError(ValueError):
    """A record with no GELF form (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class GelfKeys:
    """Which record keys fill GELF's own fields."""

    host: str = "host"
    short_message: str = "short_message"
    timestamp: str = "timestamp"
    level: str = "level"
    full_message: str = "full_message"


def _name(text: str) -> str:
    return _INVALID.sub("_", text)


def _number(value: float) -> bytes:
    return f"{value:f}".encode() if math.isfinite(value) else b"null"


def _scalar(value: Any) -> bytes | None:
    """A value that is neither map nor array, as its JSON; None for null (left out)."""
    if value is None:
        return None
    if value is True or value is False:
        return b'"true"' if value else b'"false"'
    if isinstance(value, float):
        return _number(value)
    return dumps(value)


def _inline(value: Any) -> str:
    """An item inside an array, as text (no quotes): Fluent Bit's flattened form."""
    if isinstance(value, dict):
        return " ".join(f"{_name(str(k))}={_inline(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(item) for item in value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:f}"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _field(out: list[bytes], name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str):
                _field(out, f"{name}_{_name(key)}", inner)
        return
    if isinstance(value, list):
        out.append(dumps(name) + b":" + dumps(_inline(value)))
        return
    rendered = _scalar(value)
    if rendered is not None:
        out.append(dumps(name) + b":" + rendered)


def _level(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GelfError(f"level must be a non-negative integer or a string, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise GelfError(f"level must be a non-negative integer or a string, got {value}")
        return value
    if len(value) == 1 and "0" <= value <= "7":
        return int(value)
    lowered = value.lower()
    return SYSLOG_LEVELS.index(lowered) if lowered in SYSLOG_LEVELS else value


def gelf_record(record: dict[str, Any], timestamp: float, keys: GelfKeys) -> bytes:
    """One record as a GELF JSON object (no newline); raises :class:`GelfError`."""
    special = {
        keys.host: "host",
        keys.short_message: "short_message",
        keys.timestamp: "timestamp",
        keys.level: "level",
        keys.full_message: "full_message",
    }
    seen: set[str] = set()
    out: list[bytes] = [b'"version":"1.1"']
    for key, value in record.items():
        if not isinstance(key, str):
            continue
        gelf_name = special.get(key)
        if gelf_name is not None:
            if gelf_name in seen:
                continue
            seen.add(gelf_name)
            if gelf_name == "level":
                value = _level(value)
            if isinstance(value, dict):
                _field(out, "_" + gelf_name, value)
            else:
                _field(out, gelf_name, value)
        elif key != "id":
            _field(out, "_" + _name(key), value)
    if "short_message" not in seen:
        raise GelfError(f"no short message key ({keys.short_message!r})")
    if "timestamp" not in seen:
        moment = clamp_time(timestamp)
        seconds = math.floor(moment)
        millis = int((moment - seconds) * 1000)
        out.append(f'"timestamp":{seconds}.{millis:03d}'.encode())
    # ", " between fields, as Fluent Bit writes them.
    return b"{" + b", ".join(out) + b"}"
