"""What every parser shares: its name, time resolution, ``Types`` casts and decoders; and
the section text both registries are built from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.errors import Location
from logtide.agent.core.options import Entry
from logtide.agent.parsers.decoders import Decoders
from logtide.agent.parsers.timefmt import TimeFormat

ParseResult = tuple[float | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ParserSection:
    """One ``[PARSER]`` or ``[MULTILINE_PARSER]`` block as the config wrote it.

    The engine's planner hands these over; each registry resolves them against its own
    option table, so the parsers need nothing of the config package.
    """

    location: Location
    entries: tuple[Entry, ...]

    def value(self, key: str) -> str | None:
        key = key.lower()
        return next((e.value for e in self.entries if e.key.lower() == key), None)


def as_text(data: bytes | str) -> str:
    """Parsers work on text; invalid UTF-8 becomes U+FFFD so a bad byte never raises."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "replace")


@dataclass(slots=True)
class ParserConfig:
    """The options of one ``[PARSER]`` section, compiled."""

    name: str
    time_key: str = "time"
    time_format: TimeFormat | None = None
    time_keep: bool = False
    types: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    decoders: Decoders = field(default_factory=Decoders)
    skip_empty: bool = True
    logfmt_no_bare_keys: bool = False


class Parser(ABC):
    """Turns one payload into ``(time, record)``, or None when it does not parse.

    ``time`` is None when the payload carries no usable time (the caller keeps the event's
    own time); Fluent Bit treats a resolved time of exactly 0 the same way.
    """

    format_name = ""

    def __init__(self, config: ParserConfig) -> None:
        self.config = config
        self.name = config.name
        # A shortcut for per-record loops: when set, ``parse(data)`` is ``(None, record)``
        # whenever ``loads(data)`` returns a dict ``record``; when it returns anything else
        # the payload is not a record, and when it raises, ``parse`` decides.
        self.loads: Callable[[bytes | str], Any] | None = None

    @abstractmethod
    def parse(self, data: bytes | str) -> ParseResult | None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
