"""``grep`` filter: keep or drop records by regular expressions over field values.

Each ``Regex``/``Exclude`` is ``KEY REGEX`` (KEY may be a record accessor, ``$a['b']``); a
field that is missing or not a string never matches. ``Logical_Op``:

- ``legacy`` (default), Fluent Bit's rule walk: an ``Exclude`` that matches drops the record,
  a ``Regex`` that does not match drops it, and the first ``Regex`` that matches keeps it
  without looking further. Rules are taken in the order written.
- ``AND`` / ``OR``: all rules (or any rule) must match; then ``Regex`` rules keep the record
  and ``Exclude`` rules drop it. ``Regex`` and ``Exclude`` cannot be mixed in these modes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby

_Rule = tuple[bool, RecordAccessor, re.Pattern[str]]  # (is_exclude, accessor, regex)


@dataclass(frozen=True, slots=True, kw_only=True)
class GrepSettings(FilterSettings):
    regex: list[str]
    exclude: list[str]
    logical_op: Literal["legacy", "AND", "OR"]


def _rules(settings: Settings) -> list[_Rule]:
    """The rules in the order written across both keys, which the bound lists lose."""
    rules: list[_Rule] = []
    for key, value, location in settings.ordered:
        if key not in ("regex", "exclude"):
            continue
        field, sep, pattern = str(value).strip().partition(" ")
        if not sep or not pattern:
            raise ConfigError(f"filter 'grep': {key} expects 'KEY REGEX', got {value!r}", location)
        try:
            regex = compile_ruby(pattern)
        except RegexSyntaxError as exc:
            raise ConfigError(f"filter 'grep': {exc}", location) from None
        rules.append((key == "exclude", RecordAccessor(field, location), regex))
    return rules


class GrepFilter(FilterPlugin[GrepSettings]):
    name: ClassVar[str] = "grep"
    description: ClassVar[str] = "Keep or drop records whose fields match regular expressions."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Regex", multiple=True, description="'KEY REGEX': keep records that match."),
        Option("Exclude", multiple=True, description="'KEY REGEX': drop records that match."),
        Option(
            "Logical_Op",
            "enum",
            "legacy",
            "How several rules combine.",
            choices=("legacy", "AND", "OR"),
        ),
    )

    @classmethod
    def validate(cls, settings: Settings) -> GrepSettings:
        config = super().validate(settings)
        rules = _rules(settings)
        if config.logical_op != "legacy" and len({exclude for exclude, _, _ in rules}) > 1:
            raise ConfigError(
                f"filter 'grep': Regex and Exclude cannot be mixed with Logical_Op "
                f"{config.logical_op}",
                settings.location,
            )
        return config

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.rules = _rules(settings)
        self.mode = self.config.logical_op

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        if not self.rules:
            return events
        keep = self._legacy if self.mode == "legacy" else self._combined
        return [event for event in events if keep(event[1])]

    def _legacy(self, record: dict[str, object]) -> bool:
        for exclude, accessor, regex in self.rules:
            value = accessor.get(record)
            matched = type(value) is str and regex.search(value) is not None
            if matched:
                return not exclude
            if not exclude:
                return False
        return True

    def _combined(self, record: dict[str, object]) -> bool:
        want_all = self.mode == "AND"
        found = False
        for _, accessor, regex in self.rules:
            value = accessor.get(record)
            found = type(value) is str and regex.search(value) is not None
            if found != want_all:
                break
        exclude = self.rules[0][0]
        return found != exclude
