"""``Format regex``: named groups of a Ruby-syntax regular expression become the record.

The expression is searched (not anchored) anywhere in the payload. Groups that did not take
part in the match are empty strings; empty values are dropped unless
``Skip_Empty_Values Off``. The time key is resolved with ``Time_Format``; a value that does
not match the format drops the key (Fluent Bit skips it), one that does is removed unless
``Time_Keep On``. ``Types`` casts apply to the remaining values, then decoders run.
"""

from __future__ import annotations

import re
from typing import Any

from logtide.agent.parsers.base import Parser, ParserConfig, ParseResult, as_text


class RegexParser(Parser):
    format_name = "regex"

    def __init__(self, config: ParserConfig, regex: re.Pattern[str]) -> None:
        super().__init__(config)
        self.regex = regex
        self._names = tuple(regex.groupindex)
        self._has_groups = regex.groups > 0

    def parse(self, data: bytes | str) -> ParseResult | None:
        match = self.regex.search(as_text(data))
        if match is None or not self._has_groups:
            return None
        config = self.config
        time_format = config.time_format
        time_key = config.time_key
        types = config.types
        skip_empty = config.skip_empty
        parsed_time: float | None = None
        record: dict[str, Any] = {}
        groups = match.groupdict("")
        for name in self._names:
            value = groups[name]
            if not value and skip_empty:
                continue
            if time_format is not None and name == time_key:
                resolved = time_format.parse(value)
                if resolved is None:
                    continue
                parsed_time = resolved or None
                if not config.time_keep:
                    continue
            cast = types.get(name) if types else None
            record[name] = cast(value) if cast is not None else value
        if config.decoders:
            record = config.decoders.apply(record)
        return parsed_time, record
