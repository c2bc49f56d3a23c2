"""``nest`` filter: move keys under a map (``nest``) or a map's keys up a level (``lift``).

As Fluent Bit's filter_nest:

- ``Operation nest``: keys matching any ``Wildcard`` (exact name, or a prefix with a trailing
  ``*``) move into a map under ``Nest_under``, which is appended after the remaining keys;
  ``Add_prefix``/``Remove_prefix`` rename the nested keys.
- ``Operation lift``: the map under ``Nested_under`` is removed and its keys appended after
  the remaining keys, renamed by ``Add_prefix``/``Remove_prefix``. A value that is not a map
  is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext


@dataclass(frozen=True, slots=True, kw_only=True)
class NestSettings(FilterSettings):
    operation: Literal["nest", "lift"]
    wildcard: list[str]
    nest_under: str | None
    nested_under: str | None
    add_prefix: str | None
    prefix_with: str | None
    remove_prefix: str | None

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        add = self.add_prefix or self.prefix_with
        if add and self.remove_prefix:
            raise ConfigError(
                "filter 'nest': Add_prefix and Remove_prefix are exclusive", self.location
            )
        if self.operation == "nest":
            if not self.wildcard or not self.nest_under:
                raise ConfigError(
                    "filter 'nest': Operation nest needs Wildcard and Nest_under",
                    self.location,
                )
        elif not self.nested_under:
            raise ConfigError("filter 'nest': Operation lift needs Nested_under", self.location)


class NestFilter(FilterPlugin[NestSettings]):
    name: ClassVar[str] = "nest"
    description: ClassVar[str] = "Nest keys under a map, or lift a map's keys up."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Operation", "enum", None, "nest or lift.", required=True, choices=("nest", "lift")),
        Option("Wildcard", multiple=True, description="Keys to nest (name, or prefix*)."),
        Option("Nest_under", description="Map key the matching keys move under (nest)."),
        Option("Nested_under", description="Map key whose keys are lifted (lift)."),
        Option("Add_prefix", description="Prefix added to the moved keys."),
        Option("Prefix_with", description="Alias of Add_prefix."),
        Option("Remove_prefix", description="Prefix removed from the moved keys."),
    )

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        config = self.config
        self.nest = config.operation == "nest"
        wildcards = config.wildcard
        self.exact = frozenset(w for w in wildcards if not w.endswith("*"))
        self.prefixes = tuple(w[:-1] for w in wildcards if w.endswith("*"))
        under = config.nest_under if self.nest else config.nested_under
        assert under is not None  # checked by NestSettings
        self.under = under
        self.add_prefix = config.add_prefix or config.prefix_with or ""
        self.remove_prefix = config.remove_prefix or ""

    def _rename(self, key: str) -> str:
        if self.add_prefix:
            return self.add_prefix + key
        if self.remove_prefix and key.startswith(self.remove_prefix):
            return key[len(self.remove_prefix) :]
        return key

    def _selected(self, key: str) -> bool:
        return key in self.exact or (bool(self.prefixes) and key.startswith(self.prefixes))

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        apply = self._nest if self.nest else self._lift
        return [(ts, apply(record)) for ts, record in events]

    def _nest(self, record: dict[str, Any]) -> dict[str, Any]:
        if not any(self._selected(k) for k in record):
            return record
        out: dict[str, Any] = {}
        nested: dict[str, Any] = {}
        for key, value in record.items():
            if self._selected(key):
                nested[self._rename(key)] = value
            else:
                out[key] = value
        out[self.under] = nested
        return out

    def _lift(self, record: dict[str, Any]) -> dict[str, Any]:
        inner = record.get(self.under)
        if type(inner) is not dict:
            return record
        out = {k: v for k, v in record.items() if k != self.under}
        for key, value in inner.items():
            out[self._rename(key)] = value
        return out
