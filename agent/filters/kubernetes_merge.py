"""The kubernetes filter's ``Merge_Log``: a record's ``log`` decoded and merged into it.

The ``log`` text goes through ``Merge_Parser`` (or the parser a pod's
``fluentbit.io/parser`` annotation names), else it is decoded as JSON; a JSON object's keys
join the record (or go under ``Merge_Log_Key``), trimmed of trailing newlines with
``Merge_Log_Trim``. Runs once per record, so the usual case (JSON without escapes, no
parser) takes the shortest path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.events import Record
from logtide.agent.parsers.values import json_object

_TRIM_ENDS = ("\n", "\\n", "\\r")


class LogMerger:
    """Merges ``log`` into its record; called as ``merger(time, record, parser name)`` and
    returns the record's time (a parser may set it)."""

    def __init__(
        self,
        *,
        parsers: Any,
        merge_parser: Any,
        trim: bool,
        keep_log: bool,
        key: str | None,
        location: Location,
        warn: Callable[[str], None],
    ) -> None:
        self._parsers = parsers
        self._merge_parser = merge_parser
        self._trim = trim
        self._keep_log = keep_log
        self._key = key
        self._location = location
        self._warn = warn
        self._warned: set[str] = set()

    def __call__(self, ts: float, record: Record, parser_name: str | None) -> float:
        value = record["log"]
        parsed: Any = None
        trim = False
        if isinstance(value, str):
            parser = self._annotation_parser(parser_name) if parser_name else self._merge_parser
            if parser is not None:
                result = parser.parse(value)
                if result is not None:
                    parsed_time, parsed = result
                    if parsed_time:
                        ts = parsed_time
                trim = self._trim
            else:
                if value[:1] != "{" and not value.lstrip().startswith("{"):
                    # Not a JSON object (plain text): nothing to decode or merge.
                    return ts
                parsed = json_object(value)
                if parsed is None:
                    return ts
                # A decoded JSON string holds a newline or a backslash only where the text
                # has an escape (a backslash), so text without one has nothing to trim.
                trim = self._trim and "\\" in value
        elif isinstance(value, dict):
            parsed = value
        if parsed is None:
            return ts
        if trim:
            # Rebuilt only when a value needs it: most merged records have none.
            for v in parsed.values():
                if isinstance(v, str) and v.endswith(_TRIM_ENDS):
                    parsed = {
                        k: trim_value(v) if isinstance(v, str) else v for k, v in parsed.items()
                    }
                    break
        if not self._keep_log:
            del record["log"]
        if self._key:
            if parsed:
                record[self._key] = parsed
        else:
            record.update(parsed)
        return ts

    def _annotation_parser(self, name: str) -> Any:
        if self._parsers is not None:
            try:
                return self._parsers.get(name, self._location)
            except ConfigError:
                pass
        if name not in self._warned:
            self._warned.add(name)
            self._warn(f"annotation parser {name!r} not found; records are merged as JSON")
        return self._merge_parser


def trim_value(value: str) -> str:
    """Drop trailing newlines and escaped ``\\n``/``\\r`` pairs, as Fluent Bit's Merge_Log_Trim."""
    if not value.endswith(_TRIM_ENDS):
        return value
    end = len(value)
    i = end - 1
    while i > 0:
        if value[i] == "\n":
            end -= 1
            i -= 1
        elif value[i - 1] == "\\" and value[i] in "nr":
            end -= 2
            i -= 2
        else:
            break
    return value[:end]
