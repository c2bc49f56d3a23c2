"""Aggregate queries (COUNT, AVG, SUM, MIN, MAX, TIMESERIES_FORECAST with GROUP BY).

Semantics follow flb_sp.c and flb_sp_aggregate_func.c:

- A record is counted only if it passes WHERE and every GROUP BY key resolves (a missing key
  or an array drops it). Group values are read as numbers where possible: numeric strings of
  up to 19 bytes become numbers, booleans 0/1, and null or a map becomes ``0``.
- ``COUNT(*)`` and ``COUNT(key)`` both count the group's records; ``AVG`` divides the sum of
  the numeric values by that same count.
- SUM/MIN/MAX stay integers until a non-zero float arrives; floats leave as C ``float``,
  like every ``AVG`` and ``TIMESERIES_FORECAST``.
- Groups come out in the order they were first seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logtide.streamsql.codegen import Event, Predicate, now_text, unix_timestamp
from logtide.streamsql.plan import KeyRef, Statement
from logtide.streamsql.values import MISSING, float32, lookup, to_number

_READABLE = (bool, int, float, str, dict, type(None))


@dataclass(slots=True)
class Row:
    """What one record contributes: its group, and the numbers each aggregate reads."""

    group: tuple[Any, ...]
    numbers: tuple[int | float | None, ...]
    time: float


class _Number:
    __slots__ = ("is_float", "ops", "value")

    def __init__(self) -> None:
        self.is_float = False
        self.value: int | float = 0
        self.ops = 0

    def widen(self, number: int | float) -> int | float:
        if type(number) is float and number != 0.0 and not self.is_float:
            self.is_float = True
            self.value = float(self.value)
        if self.is_float:
            return float(number)
        return number if type(number) is int else 0

    def packed(self) -> int | float:
        return float32(self.value) if self.is_float else self.value


class _Forecast:
    __slots__ = ("latest_x", "offset", "sx", "sx2", "sxy", "sy")

    def __init__(self) -> None:
        self.offset = 0.0
        self.latest_x = 0.0
        self.sx = self.sy = self.sxy = self.sx2 = 0.0

    def add(self, when: float, number: int | float) -> None:
        if not self.offset:
            self.offset = when
        x = when - self.offset
        self.latest_x = x
        y = float(number)
        self.sx += x
        self.sy += y
        self.sxy += x * y
        self.sx2 += x * x

    def result(self, records: int, horizon: int) -> float:
        mean_x = self.sx / records
        mean_y = self.sy / records
        cov_xy = self.sxy / records - mean_x * mean_y
        var_x = self.sx2 / records - mean_x * mean_x
        slope = _ieee_div(cov_xy, var_x)
        intercept = mean_y - slope * mean_x
        return float32(intercept + slope * (horizon + self.latest_x))


def _ieee_div(a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


class Group:
    __slots__ = ("forecasts", "numbers", "records", "values")

    def __init__(self, values: tuple[Any, ...], size: int) -> None:
        self.values = values
        self.records = 0
        self.numbers = [_Number() for _ in range(size)]
        self.forecasts: list[_Forecast | None] = [None] * size


class Aggregator:
    """Extracts rows from records, folds them into groups, and packs the groups as records."""

    def __init__(self, statement: Statement, where: Predicate | None) -> None:
        self.keys = statement.keys
        self.group_by: tuple[KeyRef, ...] = statement.group_by
        self.where = where
        self.measured = [
            (index, key.key)
            for index, key in enumerate(self.keys)
            if key.kind == "aggregate" and key.key is not None and key.func != "COUNT"
        ]

    def extract(self, tag: str, events: Iterable[Event]) -> list[Row]:
        where = self.where
        rows: list[Row] = []
        for when, record in events:
            if where is not None and not where(when, record, tag):
                continue
            group = self._group(record)
            if group is None:
                continue
            numbers = tuple(
                to_number(lookup(record, ref.name, ref.subkeys)) for _, ref in self.measured
            )
            rows.append(Row(group, numbers, when))
        return rows

    def _group(self, record: dict[str, Any]) -> tuple[Any, ...] | None:
        values: list[Any] = []
        for ref in self.group_by:
            value = lookup(record, ref.name, ref.subkeys)
            if value is MISSING or not isinstance(value, _READABLE):
                return None
            number = to_number(value)
            if number is not None:
                values.append(number)
            elif type(value) is str:
                values.append(value)
            elif type(value) is bool:
                values.append(int(value))
            else:
                values.append(0)
        return tuple(values)

    def fold(self, groups: dict[tuple[Any, ...], Group], rows: Iterable[Row]) -> int:
        """Add rows to ``groups``; return how many records were added."""
        count = 0
        size = len(self.keys)
        for row in rows:
            group = groups.get(row.group)
            if group is None:
                group = groups[row.group] = Group(row.group, size)
            group.records += 1
            count += 1
            for (index, _ref), number in zip(self.measured, row.numbers, strict=True):
                if number is not None:
                    self._add(group, index, number, row.time)
        return count

    def _add(self, group: Group, index: int, number: int | float, when: float) -> None:
        func = self.keys[index].func
        if func == "TIMESERIES_FORECAST":
            forecast = group.forecasts[index]
            if forecast is None:
                forecast = group.forecasts[index] = _Forecast()
            forecast.add(when, number)
            return
        state = group.numbers[index]
        value = state.widen(number)
        if func in ("SUM", "AVG"):
            state.value += value
        elif state.ops == 0 or (value < state.value if func == "MIN" else value > state.value):
            state.value = value
            state.ops += 1

    def package(self, groups: dict[tuple[Any, ...], Group], tag: str, now: float) -> list[Event]:
        """One record per group, keys in SELECT order, stamped ``now``."""
        events: list[Event] = []
        for group in groups.values():
            record: dict[str, Any] = {}
            for index, key in enumerate(self.keys):
                record[key.output] = self._value(group, index, tag, now)
            events.append((now, record))
        return events

    def _value(self, group: Group, index: int, tag: str, now: float) -> Any:
        key = self.keys[index]
        if key.kind == "function":
            return {
                "RECORD_TAG": lambda: tag,
                "RECORD_TIME": lambda: now,
                "NOW": now_text,
                "UNIX_TIMESTAMP": unix_timestamp,
            }[key.func]()
        if key.kind == "key":
            value = group.values[key.group_index]
            return float32(value) if type(value) is float else value
        if key.func == "COUNT":
            return group.records
        if key.func == "TIMESERIES_FORECAST":
            forecast = group.forecasts[index]
            return forecast.result(group.records, key.horizon) if forecast else None
        state = group.numbers[index]
        if key.func == "AVG":
            return float32(state.value / group.records)
        return state.packed()
