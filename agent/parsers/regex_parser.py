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
        self._has_groups = regex.groups > 0

    def parse(self, data: bytes | str) -> ParseResult | None:
        match = self.regex.search(as_text(data))
        if match is None or not self._has_groups:
            return None
        config = self.config
        # groupdict() keeps the groups' order; one comprehension builds the record.
        if config.skip_empty:
            record: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v}
        else:
            record = match.groupdict("")
        parsed_time: float | None = None
        time_format = config.time_format
        if time_format is not None:
            value = record.get(config.time_key)
            if value is not None:
                resolved = time_format.parse(value)
                if resolved is None or not config.time_keep:
                    # A time that does not match the format is skipped, as in Fluent Bit.
                    del record[config.time_key]
                if resolved is not None:
                    parsed_time = resolved or None
        types = config.types
        if types:
            for name, cast in types.items():
                if name in record:
                    record[name] = cast(record[name])
        if config.decoders:
            record = config.decoders.apply(record)
        return parsed_time, record
