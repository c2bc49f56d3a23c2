"""Records to Lua tables and back, by Fluent Bit's rules (flb_lua.c).

Into Lua: maps and arrays become tables tagged with Fluent Bit's metatable type, null
becomes nil (the key disappears, an array gets a hole) or ``flb_null`` with
``enable_flb_null``. Back from Lua: a table tagged as an array is read up to ``#t``, one
tagged as a map stays a map; an untagged table is an array when ``table.maxn`` is positive
(string keys are dropped, holes become null), else a map. Integral numbers come back as
integers. Keys listed in ``type_int_key`` / ``type_array_key`` force an integer (truncated)
or an array; as in Fluent Bit, a key also matches when it is a *prefix* of a listed name.
"""

from __future__ import annotations

import math
from typing import Any

from logtide.agent.filters.lua.runtime import LuaState, lua_type

_CONTAINERS = (dict, list)
# What lupa hands over ready to use: integral Lua numbers arrive as int already (-0.0 too),
# so a float is a fractional (or out of int64 range) number, kept as it is.
_PLAIN = frozenset((str, int, float, bool))
_INT64_MAX = 2**63


class ConversionError(ValueError):
    """A callback returned something that is not a record."""


class Converter:
    def __init__(
        self, state: LuaState, int_keys: list[str], array_keys: list[str], null: bool
    ) -> None:
        self.state = state
        self.int_keys = tuple(int_keys)
        self.array_keys = tuple(array_keys)
        self.typed = bool(int_keys or array_keys)
        self.null = null
        if null:
            state.enable_null()

    # -- Python -> Lua -------------------------------------------------------------------

    def record(self, record: dict[str, Any]) -> Any:
        """The table for a record; its own map metatable is set by the Lua wrapper."""
        null = self.null
        for value in record.values():
            if type(value) in _CONTAINERS or (null and value is None):
                return self.state.table_from({k: self._value(v) for k, v in record.items()})
        return self.state.table_from(record)

    def _value(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return self.state.as_map(self.record(value))
        if kind is list:
            items = [self._value(v) for v in value]
            return self.state.as_array(self.state.table_from(items))
        if value is None and self.null:
            return self.state.null
        return value

    # -- Lua -> Python -------------------------------------------------------------------

    def events(self, value: Any) -> list[dict[str, Any]]:
        """The records a callback returned: one table, or an array of tables (split). A
        string in them that is not UTF-8 is repaired (U+FFFD) and the table read again."""
        try:
            return self._events(value)
        except UnicodeDecodeError:
            self.state.repair_strings(value)
            return self._events(value)

    def _events(self, value: Any) -> list[dict[str, Any]]:
        if lua_type(value) != "table":
            raise ConversionError(f"expected a table, got {_lua_type_name(value)}")
        count, kind = self.state.returned(value)
        if count == 0:
            if kind != 2:
                raise ConversionError("expected a record (a map), got an array")
            return [self._map(value)]
        records: list[dict[str, Any]] = []
        for index in range(1, count + 1):
            item = value[index]
            converted = self.table(item) if lua_type(item) == "table" else None
            if type(converted) is not dict:
                raise ConversionError(f"element {index} of the returned array is not a record")
            records.append(converted)
        return records

    def table(self, table: Any) -> Any:
        kind, length = self.state.classify(table)
        if kind == 1:
            return [self._back(table[i]) for i in range(1, length + 1)]
        if kind == 0:
            return None
        return self._map(table)

    def _map(self, table: Any) -> dict[str, Any]:
        if self.typed:
            return {
                (key if type(key) is str else _key_text(key)): self._typed(key, item)
                for key, item in table.items()
            }
        out: dict[str, Any] = dict(table.items())
        fix = [key for key, item in out.items() if type(item) not in _PLAIN or type(key) is not str]
        for key in fix:
            item = out.pop(key)
            out[key if type(key) is str else _key_text(key)] = self._back(item)
        return out

    def _typed(self, key: Any, item: Any) -> Any:
        name = key if type(key) is str else _key_text(key)
        kind = type(item)
        if kind is int or kind is float:
            if any(listed.startswith(name) for listed in self.int_keys):
                return _truncate(item)
        elif lua_type(item) == "table" and any(
            listed.startswith(name) for listed in self.array_keys
        ):
            length = self.state.objlen(item)
            return [self._back(item[i]) for i in range(1, length + 1)]
        return self._back(item)

    def _back(self, item: Any) -> Any:
        if type(item) in _PLAIN or item is None:
            return item
        if lua_type(item) == "table":
            return self.table(item)
        # functions, threads, userdata: Fluent Bit cannot serialize them either
        return None


def _integral(number: float) -> int | float:
    """lupa hands integral numbers over as int already; this catches the rest (-0.0)."""
    if number.is_integer() and -_INT64_MAX <= number < _INT64_MAX:
        return int(number)
    return number


def _truncate(number: float) -> int | float:
    if math.isfinite(number) and -_INT64_MAX <= number < _INT64_MAX:
        return int(number)
    return number


def _key_text(key: Any) -> str:
    if type(key) is float:
        key = _integral(key)
    if type(key) is bool:
        return "true" if key else "false"
    return str(key)


def _lua_type_name(value: Any) -> str:
    return lua_type(value) or type(value).__name__
