"""Build parsers from [PARSER]-style options, as a parsers file would define them."""

from __future__ import annotations

from logtide.agent.core.errors import Location
from logtide.agent.core.options import Entry
from logtide.agent.parsers.base import Parser, ParserSection
from logtide.agent.parsers.registry import ParserRegistry

LOCATION = Location("parsers.conf", 7)


def section(**options: str | list[str]) -> ParserSection:
    entries = []
    for key, value in options.items():
        for v in value if isinstance(value, list) else [value]:
            entries.append(Entry(key, v, LOCATION))
    return ParserSection(LOCATION, tuple(entries))


def make(**options: str | list[str]) -> Parser:
    options.setdefault("Name", "p")
    registry = ParserRegistry.from_sections([section(**options)])
    return registry.get(str(options["Name"]))
