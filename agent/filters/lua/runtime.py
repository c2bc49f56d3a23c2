"""The Lua state behind one ``lua`` filter: which Lua, loading the script, the helpers the
record conversion calls, and checking a script at ``--dry-run``.

Fluent Bit runs its filters on LuaJIT (Lua 5.1 semantics: ``table.maxn``, ``tostring(2.0)``
is ``"2"``), so logtide prefers lupa's bundled LuaJIT and falls back to Lua 5.1 where a
platform's wheel has no LuaJIT.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from logtide.agent.core.errors import ConfigError, Location

# Fluent Bit's metatable "type" values (flb_lua.h): tables made from a record's arrays and
# maps carry them, so an empty array comes back as [] and a map stays a map.
ARRAY_TYPE = 1
MAP_TYPE = 2

# Lua-side helpers: classify a table as Fluent Bit's conversion does (metatable first, then
# table.maxn / the positive-integer-keys walk), and wrap the user's function so the record's
# map metatable is set in Lua, not by a second call from Python.
_HELPERS = """
local ARRAY, MAP = ...
local array_meta = {type = ARRAY}
local map_meta = {type = MAP}
local getmetatable, setmetatable, next, type = getmetatable, setmetatable, next, type
local maxn = table.maxn
local floor = math.floor
local null = setmetatable({}, {__tostring = function() return "flb_null" end})

local function classify(t)
  if t == null then return 0, 0 end
  local mt = getmetatable(t)
  if type(mt) == "table" then
    if mt.type == ARRAY then return 1, #t end
    if mt.type == MAP then return 2, 0 end
  end
  local n = maxn(t)
  if n > 0 and n == floor(n) then return 1, n end
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k <= 0 then return 2, 0 end
    k = floor(k)
    if k > max then max = k end
    count = count + 1
  end
  if max > 0 and max == count then return 1, max end
  return 2, 0
end

local function returned(t)
  -- a callback's third return value: an array of records (split: their count, as Fluent Bit
  -- tells by table.maxn alone), or one record (0, and its kind)
  local n = maxn(t)
  if n > 0 and n == floor(n) then return n, 0 end
  return 0, (classify(t))
end

local function wrap(cb)
  return function(tag, ts, record)
    setmetatable(record, map_meta)
    return cb(tag, ts, record)
  end
end

local byte, format, gsub, ipairs = string.byte, string.format, string.gsub, ipairs

local function hex(s)
  return (gsub(s, ".", function(c) return format("%02x", byte(c)) end))
end

local function repair(t, decode, seen)
  -- every string key and value of t and of the tables in it, replaced by decode(hex(s)):
  -- Python reads the bytes and gives back valid UTF-8
  seen = seen or {}
  if seen[t] then return end
  seen[t] = true
  local keys = {}
  for k, v in next, t do
    if type(v) == "string" then
      t[k] = decode(hex(v))
    elseif type(v) == "table" then
      repair(v, decode, seen)
    end
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  for _, k in ipairs(keys) do
    local fixed = decode(hex(k))
    if fixed ~= k then
      t[fixed] = t[k]
      t[k] = nil
    end
  end
end

local function objlen(t) return #t end
local function as_array(t) return setmetatable(t, array_meta) end
local function as_map(t) return setmetatable(t, map_meta) end

return classify, returned, wrap, objlen, as_array, as_map, null, repair
"""


def _lua_module() -> ModuleType:
    for name in ("luajit21", "luajit20", "lua51"):
        try:
            return importlib.import_module(f"lupa.{name}")
        except ImportError:
            continue
    return importlib.import_module("lupa")


LUA = _lua_module()
LuaError: type[Exception] = LUA.LuaError
lua_type = LUA.lua_type


def script_path(script: str, location: Location) -> str:
    """A relative script path resolves against the folder of the config file naming it."""
    if os.path.isabs(script) or not location.file or location.file.startswith("<"):
        return script
    return os.path.join(os.path.dirname(os.path.abspath(location.file)), script)


def read_source(script: str | None, code: str | None, location: Location) -> tuple[str, str]:
    """``(source, chunk name)``; the chunk name makes Lua's messages read ``file:line``."""
    if code is not None:
        return code, "=inline code"
    assert script is not None
    path = script_path(script, location)
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read(), "@" + path
    except OSError as exc:
        raise ConfigError(
            f"filter 'lua': cannot read script {path}: {exc.strerror or exc}", location
        ) from None


class LuaState:
    """One Lua runtime with the user's script loaded and its top-level code run."""

    def __init__(self, source: str, chunk: str, call: str, location: Location) -> None:
        self.runtime: Any = LUA.LuaRuntime(unpack_returned_tuples=True)
        lua_globals = self.runtime.globals()
        loader = self.runtime.eval(
            "function(src, name) local f, e = loadstring(src, name); return f or false, e end"
        )
        compiled, message = loader(source, chunk)
        if compiled is False:
            raise ConfigError(f"filter 'lua': {message}", location)
        try:
            compiled()
        except LuaError as exc:
            raise ConfigError(f"filter 'lua': {_one_line(exc)}", location) from None
        function = lua_globals[call]
        if self.runtime.eval("type")(function) != "function":
            name = chunk[1:] if chunk.startswith(("@", "=")) else chunk
            raise ConfigError(f"filter 'lua': function '{call}' is not defined in {name}", location)
        helpers = self.runtime.execute(_HELPERS, ARRAY_TYPE, MAP_TYPE)
        (
            self.classify,
            self.returned,
            wrap,
            self.objlen,
            self.as_array,
            self.as_map,
            self.null,
            self._repair,
        ) = helpers
        self.callback = wrap(function)
        self.table_from = self.runtime.table_from

    def repair_strings(self, table: Any) -> None:
        """Make every string in ``table`` (keys, values, nested tables) valid UTF-8, invalid
        bytes replaced by U+FFFD as the tail input replaces them: a script that cuts text
        with ``string.sub`` inside a multi-byte character still returns its record."""
        self._repair(table, _utf8_from_hex)

    def enable_null(self) -> None:
        self.runtime.globals()["flb_null"] = self.null


def _utf8_from_hex(text: str) -> str:
    return bytes.fromhex(text).decode("utf-8", "replace")


def _one_line(exc: BaseException) -> str:
    message = str(exc).split("stack traceback:", 1)[0]
    return " ".join(message.split())


def error_text(exc: BaseException) -> str:
    """A Lua error (or a conversion failure) as one log line."""
    return _one_line(exc)
