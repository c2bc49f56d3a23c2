"""Fluent Bit's strptime conversions: month, day and zone names, and the tokenizer that
turns a ``Time_Format`` into regular-expression pieces and the fields they fill.
:class:`logtide.agent.parsers.timefmt.TimeFormat` compiles those pieces into one expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTH_INDEX = {name: i for i, name in enumerate(_MONTHS)} | {
    name[:3]: i for i, name in enumerate(_MONTHS)
}
_ZONE_OFFSETS = {
    "Z": 0,
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "WET": 0,
    "WEST": 3600,
    "CET": 3600,
    "CEST": 2 * 3600,
    "EET": 2 * 3600,
    "EEST": 3 * 3600,
    "MSK": 3 * 3600,
    "IST": 5 * 3600 + 1800,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "HKT": 8 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
    "NZST": 12 * 3600,
    "NZDT": 13 * 3600,
    "HST": -10 * 3600,
    "AKST": -9 * 3600,
    "AKDT": -8 * 3600,
    "BST": 3600,
}
_COMPOSITES = {
    "T": "%H:%M:%S",
    "F": "%Y-%m-%d",
    "D": "%m/%d/%y",
    "R": "%H:%M",
    "r": "%I:%M:%S %p",
    "c": "%a %b %e %H:%M:%S %Y",
    "x": "%m/%d/%y",
    "X": "%H:%M:%S",
}
_NUMERIC = {
    "Y": ("year", r"\d{1,4}"),
    "y": ("relyear", r"\d{1,2}"),
    "C": ("century", r"\d{1,2}"),
    "m": ("month", r"\d{1,2}"),
    "d": ("day", r"\d{1,2}"),
    "e": ("day", r" ?\d{1,2}"),
    "H": ("hour", r"\d{1,2}"),
    "k": ("hour", r"\d{1,2}"),
    "I": ("hour12", r"\d{1,2}"),
    "l": ("hour12", r"\d{1,2}"),
    "M": ("minute", r"\d{1,2}"),
    "S": ("second", r"\d{1,2}"),
    "j": ("yday", r"\d{1,3}"),
    "s": ("epoch", r"\d+"),
    "L": ("frac", r"\d{1,9}"),
    "U": ("", r"\d{1,2}"),
    "W": ("", r"\d{1,2}"),
    "V": ("", r"\d{1,2}"),
    "g": ("", r"\d{1,2}"),
    "G": ("", r"\d+"),
    "u": ("", r"[1-7]"),
    "w": ("", r"[0-6]"),
}
RANGES = {
    "year": (0, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "hour12": (1, 12),
    "minute": (0, 59),
    "second": (0, 60),
    "yday": (1, 366),
}
_ZONE_RE = r"\s*(?:Z|UTC|UT|GMT|[+-]\d\d(?::?\d\d)?|[ECMP][SD]T)"
_ZONE_NAME_RE = r"[A-Za-z]{1,5}\b"
_NAMES_RE = {
    "b": "(?i:" + "|".join([*_MONTHS, *(m[:3] for m in _MONTHS)]) + ")",
    "a": "(?i:" + "|".join([*_DAYS, *(d[:3] for d in _DAYS)]) + ")",
    "p": "(?i:am|pm)",
}


class TimeFormatError(ValueError):
    """A ``Time_Format`` that uses a conversion Fluent Bit does not support."""


@dataclass(slots=True)
class Token:
    regex: str
    field: str = ""


def tokenize(fmt: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c.isspace():
            while i < len(fmt) and fmt[i].isspace():
                i += 1
            tokens.append(Token(r"\s*"))
            continue
        if c != "%":
            tokens.append(Token(re.escape(c)))
            i += 1
            continue
        i += 1
        if i < len(fmt) and fmt[i] in "EO":
            i += 1
        if i >= len(fmt):
            raise TimeFormatError("Time_Format ends with a lone '%'")
        conv = fmt[i]
        i += 1
        if conv == "%":
            tokens.append(Token("%"))
        elif conv in _COMPOSITES:
            tokens.extend(tokenize(_COMPOSITES[conv]))
        elif conv in _NUMERIC:
            name, regex = _NUMERIC[conv]
            tokens.append(Token(regex, name))
        elif conv in ("b", "B", "h"):
            tokens.append(Token(_NAMES_RE["b"], "monthname"))
        elif conv in ("a", "A"):
            tokens.append(Token(_NAMES_RE["a"]))
        elif conv == "p":
            tokens.append(Token(_NAMES_RE["p"], "ampm"))
        elif conv == "z":
            tokens.append(Token(_ZONE_RE, "zone"))
        elif conv == "Z":
            tokens.append(Token(_ZONE_NAME_RE, "zonename"))
        elif conv in ("n", "t"):
            tokens.append(Token(r"\s*"))
        else:
            hint = " (use %L for fractional seconds)" if conv == "f" else ""
            raise TimeFormatError(f"Time_Format conversion '%{conv}' is not supported{hint}")
    return tokens


POW10 = tuple(10**i for i in range(10))
UNSET: Any = object()


def zone_offset(text: str) -> int | None:
    if text == "Z":
        return 0
    text = text.strip()
    upper = text.upper()
    if upper in _ZONE_OFFSETS:
        return _ZONE_OFFSETS[upper]
    if text[:1] in "+-" and len(text) >= 3:
        digits = text[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4]) if len(digits) >= 4 else 0
        offset = hours * 3600 + minutes * 60
        return -offset if text[0] == "-" else offset
    return None


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date; month/day may overflow."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_offset(text: str) -> int:
    """``Time_Offset``: ``+0900``, ``-07:00`` or ``Z`` -> seconds east of UTC."""
    text = text.strip()
    if text == "Z":
        return 0
    match = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text)
    if not match or int(match.group(2)) > 59 or int(match.group(3)) > 59:
        raise ValueError(f"invalid Time_Offset {text!r} (expected e.g. +0900 or -07:00)")
    seconds = int(match.group(2)) * 3600 + int(match.group(3)) * 60
    return -seconds if match.group(1) == "-" else seconds
