"""The ``lua`` filter's options (Fluent Bit's filter_lua) and the settings class they bind to."""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

LUA_OPTIONS: tuple[Option, ...] = (
    *COMMON_FILTER_OPTIONS,
    Option(
        "script",
        "str",
        None,
        "Lua script file, relative to the config file that names it.",
    ),
    Option("call", "str", None, "Name of the Lua function called for every record.", required=True),
    Option("code", "str", None, "Inline Lua source, instead of a script file."),
    Option(
        "protected_mode",
        "bool",
        True,
        "On: a Lua error passes the whole chunk unmodified. Off: only the failing record passes "
        "unmodified (logtide never aborts).",
    ),
    Option(
        "time_as_table",
        "bool",
        False,
        "Pass the time as {sec=..., nsec=...} instead of a float number of seconds.",
    ),
    Option(
        "type_int_key",
        "list",
        [],
        "Space-separated keys whose numbers come back as integers (truncated).",
        separator=None,
    ),
    Option(
        "type_array_key",
        "list",
        [],
        "Space-separated keys whose tables come back as arrays (an empty table as []).",
        separator=None,
    ),
    Option(
        "enable_flb_null",
        "bool",
        False,
        "Pass null values as the global flb_null instead of nil (the key then stays).",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LuaSettings(FilterSettings):
    script: str | None
    call: str
    code: str | None
    protected_mode: bool
    time_as_table: bool
    type_int_key: list[str]
    type_array_key: list[str]
    enable_flb_null: bool

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        if (self.script is None) == (self.code is None):
            raise ConfigError(
                "filter 'lua': give exactly one of 'script' and 'code'", self.location
            )
