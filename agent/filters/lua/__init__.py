"""``lua`` filter: run a user's Lua function over every record, as Fluent Bit's filter_lua.

The function is called as ``cb(tag, timestamp, record)`` and returns ``code, timestamp,
record``: -1 drops the record, 0 keeps it as it was, 1 replaces record and time, 2 replaces
the record and keeps the time; any other code keeps the record (an error is logged). The
returned record may be an array of records, which become several events in its place.

Everything happens within one chunk, so the chunk's acknowledgement covers the records
kept, split or dropped: the source's checkpoint contract holds without bookkeeping here.

A failing callback (a Lua error or a return value that is not a record) loses nothing: with
``protected_mode`` On (the default, as Fluent Bit) the whole chunk passes unmodified, with
it Off only the failing record does (Fluent Bit would abort the process there). Either way
the ``lua_errors`` counter grows and one error line is logged per 10 s at most.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from logtide.agent.core.events import Event
from logtide.agent.core.options import Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.lua.convert import ConversionError, Converter
from logtide.agent.filters.lua.options import LUA_OPTIONS, LuaSettings
from logtide.agent.filters.lua.runtime import LuaError, LuaState, error_text, lua_type, read_source

_LOG_EVERY = 10.0  # seconds between two logged callback errors


def _three(result: Any) -> tuple[Any, Any, Any]:
    """``code, timestamp, record`` from what lupa returned (missing values are nil). A
    fractional code truncates, as Fluent Bit's ``lua_tointeger``."""
    values = result if type(result) is tuple else (result,)
    code, new_ts, record = (*values, None, None, None)[:3]
    if type(code) is float and code == code and abs(code) < 2**63:
        code = int(code)
    return code, new_ts, record


def _state(config: LuaSettings) -> LuaState:
    where = config.where("code" if config.code is not None else "script")
    source, chunk = read_source(config.script, config.code, where)
    return LuaState(source, chunk, config.call, where)


class LuaFilter(FilterPlugin[LuaSettings]):
    name: ClassVar[str] = "lua"
    description: ClassVar[str] = "Run a Lua function over every record (Fluent Bit's callback)."
    options = LUA_OPTIONS

    @classmethod
    def validate(cls, settings: Settings) -> LuaSettings:
        config = super().validate(settings)
        # Compiles the script and runs its top-level code (as Fluent Bit does at start-up)
        # to find the function; no callback runs.
        _state(config)
        return config

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        config = self.config
        self.lua = _state(config)
        self.convert = Converter(
            self.lua, config.type_int_key, config.type_array_key, config.enable_flb_null
        )
        self.protected = config.protected_mode
        self.time_as_table = config.time_as_table
        self._logged_at = -_LOG_EVERY

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        append = out.append
        callback = self.lua.callback
        record_table = self.convert.record
        time_arg = self._time_table if self.time_as_table else float
        for event in events:
            ts, record = event
            try:
                result = callback(tag, time_arg(ts), record_table(record))
                code, new_ts, new_record = _three(result)
                if code == 0:
                    append(event)
                elif code == -1:
                    continue
                elif code == 2 or code == 1:
                    when = ts if code == 2 else self._time_back(new_ts)
                    for converted in self.convert.events(new_record):
                        append((when, converted))
                else:
                    self._failed(f"unexpected return code {code!r}, record kept")
                    append(event)
            # ValueError: a Lua string that is not UTF-8 (UnicodeDecodeError); OverflowError:
            # an integer outside what Lua holds; TypeError: a return value lupa cannot unpack.
            except (LuaError, ConversionError, ValueError, OverflowError, TypeError) as exc:
                self._failed(error_text(exc))
                if self.protected:
                    return events
                append(event)
        return out

    def _time_table(self, ts: float) -> Any:
        # A float time near today's epoch resolves about 0.24 us: rounding to the microsecond
        # gives back the digits a parsed time had (".635" -> nsec 635000000, not 634999990).
        micros = round(ts * 1_000_000)
        sec, nsec = micros // 1_000_000, micros % 1_000_000 * 1000
        return self.lua.table_from({"sec": sec, "nsec": nsec})

    def _time_back(self, value: Any) -> float:
        kind = type(value)
        if kind is int or kind is float:
            return float(value)
        if lua_type(value) == "table":
            sec, nsec = value["sec"] or 0, value["nsec"] or 0
            if type(sec) in (int, float) and type(nsec) in (int, float):
                return int(sec) + int(nsec) / 1e9
        raise ConversionError(f"expected a time, got {lua_type(value) or type(value).__name__}")

    def _failed(self, message: str) -> None:
        context = self.context
        context.metrics.add(context.instance, "lua_errors")
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY:
            self._logged_at = now
            context.logger.error("%s: %s", context.instance, message)
