"""``parser`` filter: parse one field of each record with the first parser that accepts it.

As Fluent Bit's filter_parser:

- a record whose field is missing, not a string, or that no parser accepts passes unchanged;
- the parsed keys come first; with ``Reserve_Data`` the record's other keys follow in their
  original order (a key present in both keeps the parsed position and the original value, as
  a JSON reader sees Fluent Bit's duplicate keys); ``Preserve_Key`` keeps ``Key_Name`` too;
- a time the parser resolves replaces the event time;
- with a record-accessor ``Key_Name`` (``$a['b']``) the source field is never removed:
  ``Reserve_Data`` keeps every original key and ``Preserve_Key`` has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from orjson import JSONDecodeError

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.agent.parsers.base import Parser, ParseResult
from logtide.agent.parsers.registry import ParserRegistry


@dataclass(frozen=True, slots=True, kw_only=True)
class ParserFilterSettings(FilterSettings):
    key_name: str
    parser: list[str]
    reserve_data: bool
    preserve_key: bool
    unescape_key: bool


class ParserFilter(FilterPlugin[ParserFilterSettings]):
    name: ClassVar[str] = "parser"
    description: ClassVar[str] = "Parse a field of each record with named parsers."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Key_Name", required=True, description="Field to parse ($a['b'] allowed)."),
        Option(
            "Parser",
            multiple=True,
            required=True,
            description="Parser name; repeat to try several, the first that succeeds wins.",
            refers="parser",
        ),
        Option("Reserve_Data", "bool", False, "Keep the record's other fields."),
        Option("Preserve_Key", "bool", False, "Keep Key_Name in the parsed record."),
        Option("Unescape_Key", "bool", False, "Deprecated in Fluent Bit; accepted and ignored."),
    )

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        registry = context.parsers or ParserRegistry.builtin()
        self.parsers: tuple[Parser, ...] = tuple(
            registry.get(name.strip(), settings.location) for name in self.config.parser
        )
        key_name = self.config.key_name
        self.key = key_name
        self.accessor = RecordAccessor(key_name, settings.location) if key_name[:1] == "$" else None
        self.reserve_data = self.config.reserve_data
        self.preserve_key = self.config.preserve_key

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        if self.accessor is not None:
            return self._by_accessor(events)
        key = self.key
        parsers = self.parsers
        single = parsers[0] if len(parsers) == 1 else None
        loads = single.loads if single is not None else None
        reserve, preserve = self.reserve_data, self.preserve_key
        out: list[Event] = []
        append = out.append
        failed = 0
        result: ParseResult | None
        for event in events:
            record = event[1]
            value = record.get(key)
            if value is None or (type(value) is not str and type(value) is not bytes):
                append(event)
                continue
            if single is None:
                result = self._parse(value)
            elif loads is None:
                result = single.parse(value)
            else:
                try:
                    parsed = loads(value)
                    result = (None, parsed) if type(parsed) is dict else None
                except JSONDecodeError:
                    result = single.parse(value)
            if result is None:
                failed += 1
                append(event)
                continue
            parsed_time, parsed = result
            if reserve:
                # Key by key, never update() then del: the key's brief stay would outgrow the
                # table orjson sized for the parsed keys (8 + 3 > 10 doubles it: +190 bytes a
                # record, for as long as the record is queued).
                for k, v in record.items():
                    if k != key or preserve:
                        parsed[k] = v
            elif preserve:
                parsed[key] = value
            append((parsed_time or event[0], parsed))
        if failed:
            self.context.metrics.add(self.context.instance, "unparsed_records", failed)
        return out

    def _by_accessor(self, events: list[Event]) -> list[Event]:
        accessor = self.accessor
        assert accessor is not None
        out: list[Event] = []
        for event in events:
            record = event[1]
            value = accessor.get(record)
            result = self._parse(value) if type(value) in (str, bytes) else None
            if result is None:
                out.append(event)
                continue
            parsed_time, parsed = result
            if self.reserve_data:
                parsed.update(record)
            out.append((parsed_time or event[0], parsed))
        return out

    def _parse(self, value: Any) -> ParseResult | None:
        for parser in self.parsers:
            result = parser.parse(value)
            if result is not None:
                return result
        return None
