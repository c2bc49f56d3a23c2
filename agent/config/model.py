"""The loaded configuration: untyped sections as the file wrote them, before validation.

Both loaders (classic ``.conf`` and YAML) produce a :class:`ConfigDocument`; validation then
resolves every section against its plugin's option table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry


@dataclass(slots=True)
class Section:
    """One ``[INPUT]``/``[FILTER]``/... block: its entries in file order."""

    kind: str
    location: Location
    entries: list[Entry] = field(default_factory=list)

    def first(self, key: str) -> Entry | None:
        key = key.lower()
        return next((entry for entry in self.entries if entry.key.lower() == key), None)

    def value(self, key: str, default: str | None = None) -> str | None:
        entry = self.first(key)
        return entry.value if entry else default

    @property
    def name(self) -> str:
        entry = self.first("name")
        if entry is None or not entry.value.strip():
            raise ConfigError(f"[{self.kind.upper()}] section has no 'Name'", self.location)
        return entry.value.strip()

    def without(self, *keys: str) -> list[Entry]:
        """Entries minus the given keys (e.g. ``Name``, which selects the plugin)."""
        drop = {key.lower() for key in keys}
        return [entry for entry in self.entries if entry.key.lower() not in drop]


@dataclass(slots=True)
class ConfigDocument:
    """Every section of a configuration, includes and referenced files already merged."""

    service: Section
    inputs: list[Section] = field(default_factory=list)
    filters: list[Section] = field(default_factory=list)
    outputs: list[Section] = field(default_factory=list)
    parsers: list[Section] = field(default_factory=list)
    multiline_parsers: list[Section] = field(default_factory=list)
    stream_tasks: list[Section] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
