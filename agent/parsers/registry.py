"""``[PARSER]`` sections -> parsers, looked up by name (``context.parsers``).

Building is validation only (regexes and time formats compile, no I/O). Fluent Bit's stock
parsers (:mod:`logtide.agent.parsers.stock`: ``json``, ``docker``, ``cri``, ``nginx``,
``syslog-rfc5424``, ...) are available by name; a configuration's parser of the same name
replaces the stock one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import BoundSettings, Entry, Option, Settings, resolve
from logtide.agent.parsers.base import Parser, ParserConfig, ParserSection
from logtide.agent.parsers.decoders import Decoders
from logtide.agent.parsers.json_parser import JsonParser
from logtide.agent.parsers.kv_parsers import LogfmtParser, LtsvParser
from logtide.agent.parsers.regex_parser import RegexParser
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby
from logtide.agent.parsers.stock import STOCK_PARSERS
from logtide.agent.parsers.strptime import TimeFormatError, parse_offset
from logtide.agent.parsers.timefmt import TimeFormat
from logtide.agent.parsers.values import parse_types

PARSER_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Name the parser is referenced by."),
    Option(
        "Format",
        "enum",
        None,
        "Payload format.",
        required=True,
        choices=("json", "regex", "ltsv", "logfmt"),
    ),
    Option("Regex", description="Regular expression with named groups (Ruby syntax)."),
    Option("Time_Key", default="time", description="Field holding the record time."),
    Option("Time_Format", description="strptime format of Time_Key (%L = fractional seconds)."),
    Option("Time_Keep", "bool", False, "Keep Time_Key in the record after using it."),
    Option("Time_Offset", description="Fixed UTC offset (+0900) for times without a zone."),
    Option("Time_Strict", "bool", True, "Reject times that do not match Time_Format fully."),
    Option("Time_System_Timezone", "bool", False, "Read zone-less times in local time."),
    Option("Time_Zone", description="IANA zone (Europe/Paris) for zone-less times."),
    Option("Types", description="Casts for regex/logfmt/ltsv values: 'k:integer v:float b:bool'."),
    Option(
        "Decode_Field",
        multiple=True,
        description="'<json|escaped|escaped_utf8|mysql_quoted> <field> [try_next|do_next]'",
    ),
    Option("Decode_Field_As", multiple=True, description="Like Decode_Field, replacing the value."),
    Option("Skip_Empty_Values", "bool", True, "Regex: drop groups that matched nothing."),
    Option("Logfmt_No_Bare_Keys", "bool", False, "Logfmt: fail on keys without a value."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParserSectionSettings(BoundSettings):
    name: str
    format: Literal["json", "regex", "ltsv", "logfmt"]
    regex: str | None
    time_key: str
    time_format: str | None
    time_keep: bool
    time_offset: str | None
    time_strict: bool
    time_system_timezone: bool
    time_zone: str | None
    types: str | None
    decode_field: list[str]
    decode_field_as: list[str]
    skip_empty_values: bool
    logfmt_no_bare_keys: bool


_BUILTIN_LOCATION = Location("<stock parsers>", 0)


def build_parser(settings: Settings) -> Parser:
    """Compile one parser from resolved ``[PARSER]`` settings (ConfigError when invalid)."""
    s = ParserSectionSettings.bind(settings)
    name = s.name.strip()
    label = f"[PARSER] '{name}'"

    def fail(message: str, attribute: str | None = None, index: int = 0) -> ConfigError:
        return ConfigError(f"{label}: {message}", s.where(attribute, index))

    time_format = None
    fmt = _non_empty(s.time_format)
    offset_text = _non_empty(s.time_offset)
    zone_name = _non_empty(s.time_zone)
    if zone_name and not fmt:
        raise fail("Time_Zone requires Time_Format")
    if fmt:
        if zone_name and (s.time_system_timezone or offset_text):
            raise fail("Time_Zone cannot be combined with Time_System_Timezone or Time_Offset")
        zone = None
        if zone_name:
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                raise fail(f"unknown Time_Zone {zone_name!r}", "time_zone") from None
        try:
            offset = parse_offset(offset_text) if offset_text else 0
        except ValueError as exc:
            raise fail(str(exc), "time_offset") from None
        try:
            time_format = TimeFormat(
                fmt,
                offset=0 if s.time_system_timezone else offset,
                strict=s.time_strict,
                system_timezone=s.time_system_timezone,
                zone=zone,
            )
        except (TimeFormatError, ValueError) as exc:
            raise fail(str(exc), "time_format") from None
    decoders = Decoders()
    for attribute, replace in (("decode_field", False), ("decode_field_as", True)):
        for index, spec in enumerate(getattr(s, attribute)):
            try:
                decoders.add(spec, replace=replace)
            except ValueError as exc:
                raise fail(f"Decode_Field: {exc}", attribute, index) from None
    config = ParserConfig(
        name=name,
        time_key=_non_empty(s.time_key) or "time",
        time_format=time_format,
        time_keep=s.time_keep,
        types=parse_types(_non_empty(s.types) or ""),
        decoders=decoders,
        skip_empty=s.skip_empty_values,
        logfmt_no_bare_keys=s.logfmt_no_bare_keys,
    )
    fmt_name = s.format
    if fmt_name == "json":
        return JsonParser(config)
    if fmt_name == "logfmt":
        return LogfmtParser(config)
    if fmt_name == "ltsv":
        return LtsvParser(config)
    pattern = _non_empty(s.regex)
    if not pattern:
        raise fail("Format regex needs a Regex")
    try:
        regex = compile_ruby(pattern)
    except RegexSyntaxError as exc:
        raise fail(str(exc), "regex") from None
    return RegexParser(config, regex)


def _non_empty(value: object) -> str:
    """Fluent Bit treats an empty parser property as not set."""
    return str(value).strip() if value is not None else ""


class ParserRegistry:
    """Parsers by name (case-sensitive, as in Fluent Bit)."""

    def __init__(self, parsers: Iterable[Parser] = ()) -> None:
        self._parsers: dict[str, Parser] = {}
        for parser in parsers:
            self._parsers[parser.name] = parser

    @classmethod
    def builtin(cls) -> ParserRegistry:
        """Only the stock parsers: what a config without ``[PARSER]`` sections sees."""
        return cls.from_sections([])

    @classmethod
    def from_sections(cls, sections: Iterable[ParserSection]) -> ParserRegistry:
        defined: dict[str, Parser] = {}
        for section in sections:
            label = f"[PARSER] '{(section.value('name') or '').strip()}'"
            settings = resolve(label, PARSER_OPTIONS, section.entries, section.location)
            parser = build_parser(settings)
            if parser.name in defined:
                raise ConfigError(
                    f"[PARSER] '{parser.name}' is defined twice (parser names must be unique)",
                    section.location,
                )
            defined[parser.name] = parser
        parsers = [_stock(name) for name in STOCK_PARSERS if name not in defined]
        return cls([*parsers, *defined.values()])

    def get(self, name: str, location: Location | None = None) -> Parser:
        parser = self._parsers.get(name)
        if parser is None:
            raise ConfigError(
                f"unknown parser '{name}'; known parsers: {', '.join(self.names())}", location
            )
        return parser

    def names(self) -> list[str]:
        return sorted(self._parsers)

    def __contains__(self, name: object) -> bool:
        return name in self._parsers

    def __iter__(self) -> Iterator[Parser]:
        return iter(self._parsers.values())

    def __len__(self) -> int:
        return len(self._parsers)


def _stock(name: str) -> Parser:
    entries = [Entry(k, v, _BUILTIN_LOCATION) for k, v in STOCK_PARSERS[name].entries()]
    return build_parser(resolve("[PARSER]", PARSER_OPTIONS, entries, _BUILTIN_LOCATION))
