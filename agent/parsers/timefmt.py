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

from logtide.agent.core.timestamps import MAX_TIME, MIN_TIME
from logtide.agent.parsers.strptime import (
    MONTH_INDEX,
    POW10,
    RANGES,
    UNSET,
    days_from_civil,
    tokenize,
    zone_offset,
)


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
        tokens = tokenize(self.fmt)
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
        """A specialised converter for the usual ISO-like formats (docker, CRI, syslog 5424)
        and Apache's ``%d/%b/%Y:%H:%M:%S %z``.

        Day numbers are cached per date string, so a line costs one regex match, a dict hit
        and a few int() calls.
        """
        names = [name for _, name in self._fields]
        if len(set(names)) != len(names) or self.zone is not None or self.system_timezone:
            return None
        # Apache/nginx times name the month (%b): the fast path reads either form.
        month_name = "monthname" in names
        month_field = "monthname" if month_name else "month"
        allowed = {"year", month_field, "day", "hour", "minute", "second", "frac", "zone"}
        if not {"year", month_field, "day"} <= set(names) <= allowed:
            return None
        index = {name: group - 1 for group, name in self._fields}
        iy, im, i_d = index["year"], index[month_field], index["day"]
        ih, imin, isec = index.get("hour"), index.get("minute"), index.get("second")
        ifrac, izone = index.get("frac"), index.get("zone")
        with_tz, offset = self._with_tz, self.offset
        seconds_cache: dict[tuple[str | Any, ...], int | None] = {}
        last = len(self._fields) - 1

        def whole_seconds(groups: tuple[str | Any, ...]) -> int | None:
            month = MONTH_INDEX[groups[im].lower()[:3]] + 1 if month_name else int(groups[im])
            day = int(groups[i_d])
            hour = int(groups[ih]) if ih is not None else 0
            minute = int(groups[imin]) if imin is not None else 0
            second = int(groups[isec]) if isec is not None else 0
            if not (1 <= month <= 12 and 1 <= day <= 31) or hour > 23 or minute > 59:
                return None
            if second > 60:
                return None
            seconds = days_from_civil(int(groups[iy]), month, day) * 86400
            seconds += hour * 3600 + minute * 60 + second
            if with_tz:
                if izone is not None:
                    seconds -= zone_offset(groups[izone]) or 0
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
            seconds = seconds_cache.get(key, UNSET)
            if seconds is UNSET:
                seconds = whole_seconds(groups)
                if len(seconds_cache) >= 1024:
                    seconds_cache.clear()
                seconds_cache[key] = seconds
            if seconds is None:
                return None
            if ifrac is not None:
                frac = groups[ifrac]
                return seconds + int(frac) / POW10[len(frac)]
            return float(seconds)

        return fast

    def parse(self, text: str) -> float | None:
        """Epoch seconds for ``text``, or None when it does not match (strict mode) or lies
        outside years 1..9999, which no output can render (the record keeps its read time,
        as Fluent Bit does for a time its strptime cannot convert)."""
        match = self._regex.match(text)
        if match is not None and self._fast is not None:
            resolved = self._fast(match.groups())
        else:
            if match is not None:
                values = {name: match.group(group) for group, name in self._fields}
            elif self.strict:
                return None
            else:
                values = self._partial(text)
            resolved = self._compute(values)
        if resolved is not None and not MIN_TIME <= resolved <= MAX_TIME:
            return None
        return resolved

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
            if name in RANGES:
                value = int(raw)
                low, high = RANGES[name]
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
            month = MONTH_INDEX[values["monthname"].lower()[:3]] + 1
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
            days_from_civil(year, month, day) * 86400
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
                gmtoff = zone_offset(values["zone"]) or 0
            elif "zonename" in values:
                found = zone_offset(values["zonename"])
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
