"""``Time_Format`` as Fluent Bit reads it: its own strptime plus ``%L`` fractional seconds.

A format compiles once into one regular expression and a list of field setters, so resolving
a timestamp on the hot path is one ``re.match`` and a little integer arithmetic. Semantics
follow Fluent Bit's ``flb_strptime``/``flb_parser_time_lookup``:

- the input may carry trailing characters after the format (never checked);
- a format without a year takes the current year, and month/day default to today;
- ``%L`` reads up to nine digits of fractional seconds;
- ``%z`` accepts ``Z``, ``UTC``, ``GMT``, ``±hh``, ``±hhmm``, ``±hh:mm`` and the North
  American zone names; a format with ``%z``/``%Z`` (or a literal ``Z`` after ``%S``/``%L``)
  uses the parsed offset, otherwise ``Time_Offset`` (or ``Time_Zone`` /
  ``Time_System_Timezone``) applies;
- with ``Time_Strict Off`` a value that stops matching part way still yields the fields read
  so far (Fluent Bit keeps its partially filled ``struct tm``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

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
_MONTH_INDEX = {name: i for i, name in enumerate(_MONTHS)} | {
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
_RANGES = {
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
class _Token:
    regex: str
    field: str = ""


def _tokenize(fmt: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c.isspace():
            while i < len(fmt) and fmt[i].isspace():
                i += 1
            tokens.append(_Token(r"\s*"))
            continue
        if c != "%":
            tokens.append(_Token(re.escape(c)))
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
            tokens.append(_Token("%"))
        elif conv in _COMPOSITES:
            tokens.extend(_tokenize(_COMPOSITES[conv]))
        elif conv in _NUMERIC:
            name, regex = _NUMERIC[conv]
            tokens.append(_Token(regex, name))
        elif conv in ("b", "B", "h"):
            tokens.append(_Token(_NAMES_RE["b"], "monthname"))
        elif conv in ("a", "A"):
            tokens.append(_Token(_NAMES_RE["a"]))
        elif conv == "p":
            tokens.append(_Token(_NAMES_RE["p"], "ampm"))
        elif conv == "z":
            tokens.append(_Token(_ZONE_RE, "zone"))
        elif conv == "Z":
            tokens.append(_Token(_ZONE_NAME_RE, "zonename"))
        elif conv in ("n", "t"):
            tokens.append(_Token(r"\s*"))
        else:
            hint = " (use %L for fractional seconds)" if conv == "f" else ""
            raise TimeFormatError(f"Time_Format conversion '%{conv}' is not supported{hint}")
    return tokens


_POW10 = tuple(10**i for i in range(10))
_UNSET: Any = object()


def _zone_offset(text: str) -> int | None:
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


def _days_from_civil(year: int, month: int, day: int) -> int:
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


@dataclass(slots=True)
class TimeFormat:
    """A compiled ``Time_Format`` with the parser's time-zone settings."""

    fmt: str
    offset: int = 0
    strict: bool = True
    system_timezone: bool = False
    zone: ZoneInfo | None = None
    _regex: re.Pattern[str] = field(init=False)
    _fields: list[tuple[int, str]] = field(init=False)
    _tokens: list[tuple[re.Pattern[str], str]] = field(init=False)
    _with_tz: bool = field(init=False)
    _has_year: bool = field(init=False)
    _now: Callable[[], float] = field(init=False, default=time.time)
    _fast: Callable[[tuple[str | Any, ...]], float | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        tokens = _tokenize(self.fmt)
        parts: list[str] = []
        self._fields = []
        group = 0
        for token in tokens:
            if token.field:
                group += 1
                parts.append(f"({token.regex})")
                self._fields.append((group, token.field))
            else:
                parts.append(f"(?:{token.regex})")
        self._regex = re.compile("".join(parts))
        self._tokens = [(re.compile(t.regex), t.field) for t in tokens]
        self._with_tz = any(s in self.fmt for s in ("%z", "%Z", "%SZ", "%S.%LZ"))
        self._has_year = any(s in self.fmt for s in ("%Y", "%y", "%s"))
        self._fast = self._build_fast_path()

    def _build_fast_path(self) -> Callable[[tuple[str | Any, ...]], float | None] | None:
        """A specialised converter for the usual ISO-like formats (docker, CRI, syslog 5424).

        Day numbers are cached per date string, so a line costs one regex match, a dict hit
        and a few int() calls.
        """
        names = [name for _, name in self._fields]
        if len(set(names)) != len(names) or self.zone is not None or self.system_timezone:
            return None
        if (
            not {"year", "month", "day"}
            <= set(names)
            <= {
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "frac",
                "zone",
            }
        ):
            return None
        index = {name: group - 1 for group, name in self._fields}
        iy, im, i_d = index["year"], index["month"], index["day"]
        ih, imin, isec = index.get("hour"), index.get("minute"), index.get("second")
        ifrac, izone = index.get("frac"), index.get("zone")
        with_tz, offset = self._with_tz, self.offset
        seconds_cache: dict[tuple[str | Any, ...], int | None] = {}
        last = len(self._fields) - 1

        def whole_seconds(groups: tuple[str | Any, ...]) -> int | None:
            month, day = int(groups[im]), int(groups[i_d])
            hour = int(groups[ih]) if ih is not None else 0
            minute = int(groups[imin]) if imin is not None else 0
            second = int(groups[isec]) if isec is not None else 0
            if not (1 <= month <= 12 and 1 <= day <= 31) or hour > 23 or minute > 59:
                return None
            if second > 60:
                return None
            seconds = _days_from_civil(int(groups[iy]), month, day) * 86400
            seconds += hour * 3600 + minute * 60 + second
            if with_tz:
                if izone is not None:
                    seconds -= _zone_offset(groups[izone]) or 0
            else:
                seconds -= offset
            return seconds

        def fast(groups: tuple[str | Any, ...]) -> float | None:
            # Consecutive log lines mostly share their whole second: cache it, keyed by
            # every field but the fraction.
            if ifrac is None:
                key = groups
            elif ifrac == last:
                key = groups[:ifrac]
            else:
                key = groups[:ifrac] + groups[ifrac + 1 :]
            seconds = seconds_cache.get(key, _UNSET)
            if seconds is _UNSET:
                seconds = whole_seconds(groups)
                if len(seconds_cache) >= 1024:
                    seconds_cache.clear()
                seconds_cache[key] = seconds
            if seconds is None:
                return None
            if ifrac is not None:
                frac = groups[ifrac]
                return seconds + int(frac) / _POW10[len(frac)]
            return float(seconds)

        return fast

    def parse(self, text: str) -> float | None:
        """Epoch seconds for ``text``, or None when it does not match (strict mode)."""
        match = self._regex.match(text)
        if match is not None and self._fast is not None:
            return self._fast(match.groups())
        if match is not None:
            values = {name: match.group(group) for group, name in self._fields}
        elif self.strict:
            return None
        else:
            values = self._partial(text)
        return self._compute(values)

    def _partial(self, text: str) -> dict[str, str]:
        values: dict[str, str] = {}
        pos = 0
        for regex, name in self._tokens:
            match = regex.match(text, pos)
            if match is None:
                break
            if name:
                values[name] = match.group(0)
            pos = match.end()
        return values

    def _compute(self, values: dict[str, str]) -> float | None:
        frac = 0.0
        text = values.get("frac")
        if text:
            frac = int(text) / 10 ** len(text)
        epoch = values.get("epoch")
        if epoch is not None:
            return int(epoch) + frac
        ints: dict[str, int] = {}
        for name, raw in values.items():
            if name in _RANGES:
                value = int(raw)
                low, high = _RANGES[name]
                if not low <= value <= high:
                    return None
                ints[name] = value
        if "year" in ints:
            year = ints["year"]
        elif self._has_year:
            year = 1900
        else:
            year = self._today().year
        if "relyear" in values:
            rel = int(values["relyear"])
            if "century" in values:
                year = int(values["century"]) * 100 + rel
            else:
                year = rel + (2000 if rel <= 68 else 1900)
        elif "century" in values and "year" not in ints:
            year = int(values["century"]) * 100
        # Without a year in the format Fluent Bit starts from today's date; with one it
        # starts from a zeroed struct tm (January, day 0).
        if "monthname" in values:
            month = _MONTH_INDEX[values["monthname"].lower()[:3]] + 1
        elif "month" in ints:
            month = ints["month"]
        else:
            month = 1 if self._has_year else self._today().month
        day = ints["day"] if "day" in ints else (0 if self._has_year else self._today().day)
        if "yday" in ints and "month" not in ints and "monthname" not in values:
            month, day = 1, ints["yday"]
        hour = ints.get("hour", 0)
        if "hour12" in ints:
            hour = ints["hour12"] % 12
        ampm = values.get("ampm")
        if ampm is not None and ampm.lower() == "pm":
            hour += 12
        seconds = (
            _days_from_civil(year, month, day) * 86400
            + hour * 3600
            + ints.get("minute", 0) * 60
            + ints.get("second", 0)
        )
        epoch_seconds = self._to_epoch(seconds, values)
        return None if epoch_seconds is None else epoch_seconds + frac

    def _to_epoch(self, naive: int, values: dict[str, str]) -> int | None:
        if self.zone is not None and not self._with_tz:
            wall = datetime.fromtimestamp(naive, UTC).replace(tzinfo=self.zone)
            return int(wall.timestamp())
        if self.system_timezone:
            tm = time.gmtime(naive)
            return int(time.mktime((*tm[:8], -1)))
        if self._with_tz:
            gmtoff = 0
            if "zone" in values:
                gmtoff = _zone_offset(values["zone"]) or 0
            elif "zonename" in values:
                found = _zone_offset(values["zonename"])
                if found is None:
                    return None
                gmtoff = found
            return naive - gmtoff
        return naive - self.offset

    def _today(self) -> datetime:
        now = self._now()
        if self.zone is not None:
            return datetime.fromtimestamp(now, self.zone)
        if self.system_timezone:
            return datetime.fromtimestamp(now)
        return datetime.fromtimestamp(now, UTC)
