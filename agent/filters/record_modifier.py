"""``record_modifier`` filter: append fixed fields, drop or allow-list keys, add a UUID.

As Fluent Bit's filter_record_modifier: ``Remove_key`` and ``Allowlist_key`` (alias
``Whitelist_key``) compare keys case-insensitively, a trailing ``*`` makes them prefixes, and
the two cannot be combined. ``Record KEY VALUE`` entries are appended in order (a value with
spaces is quoted: ``Record msg "a b"``; ``${ENV}`` was expanded by the config loader), then
``Uuid_key`` gets a random UUID v4. A record left with no keys at all is dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.tokens import split_quoted


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordModifierSettings(FilterSettings):
    record: list[str]
    remove_key: list[str]
    allowlist_key: list[str]
    whitelist_key: list[str]
    uuid_key: str | None
    pairs: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._derive("pairs", _pairs(self))
        if self.remove_key and (self.allowlist_key or self.whitelist_key):
            raise ConfigError(
                "filter 'record_modifier': Remove_key and Allowlist_key are exclusive",
                self.location,
            )


def _pairs(config: RecordModifierSettings) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for index, value in enumerate(config.record):
        location = config.where("record", index)
        try:
            tokens = split_quoted(value)
        except ValueError as exc:
            raise ConfigError(f"filter 'record_modifier': Record: {exc}", location) from None
        if len(tokens) != 2:
            raise ConfigError(
                f"filter 'record_modifier': Record expects 'KEY VALUE' (quote a value with "
                f"spaces), got {value!r}",
                location,
            )
        pairs.append((tokens[0], tokens[1]))
    return pairs


class _KeyMatcher:
    """Case-insensitive key names, ``name*`` for a prefix."""

    def __init__(self, names: list[str]) -> None:
        self.exact = frozenset(n.lower() for n in names if not n.endswith("*"))
        self.prefixes = tuple(n[:-1].lower() for n in names if n.endswith("*"))

    def __call__(self, key: str) -> bool:
        lowered = key.lower()
        return lowered in self.exact or (bool(self.prefixes) and lowered.startswith(self.prefixes))


class RecordModifierFilter(FilterPlugin[RecordModifierSettings]):
    name: ClassVar[str] = "record_modifier"
    description: ClassVar[str] = "Append fields, remove or allow-list keys, add a UUID."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Record", multiple=True, description="'KEY VALUE' appended to every record."),
        Option("Remove_key", multiple=True, description="Key to remove (name* = prefix)."),
        Option("Allowlist_key", multiple=True, description="Key to keep; others are removed."),
        Option("Whitelist_key", multiple=True, description="Alias of Allowlist_key."),
        Option("Uuid_key", description="Key that receives a random UUID v4."),
    )

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        config = self.config
        self.records = config.pairs
        allow = [*config.allowlist_key, *config.whitelist_key]
        self.remove = _KeyMatcher(config.remove_key) if config.remove_key else None
        self.allow = _KeyMatcher(allow) if allow else None
        self.uuid_key = config.uuid_key

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        remove, allow, records, uuid_key = self.remove, self.allow, self.records, self.uuid_key
        out: list[Event] = []
        for ts, record in events:
            if remove is not None:
                record = {k: v for k, v in record.items() if not remove(k)}
            elif allow is not None:
                record = {k: v for k, v in record.items() if allow(k)}
            for key, value in records:
                record[key] = value
            if uuid_key:
                record[uuid_key] = str(uuid.uuid4())
            if record:
                out.append((ts, record))
        return out
