"""``modify`` filter: rename, add, set, copy, remove and reorder keys, under conditions.

Rules run in the order written, each on the result of the previous one, and only when every
``Condition`` holds for the record as it came in (Fluent Bit's filter_modify). Values with
spaces are quoted: ``Set message "hello world"``.

- ``Set K V``: replace K (it moves to the end) or add it; ``Add K V``: add K when absent.
- ``Remove K``; ``Remove_wildcard P``: keys starting with P; ``Remove_regex R``.
- ``Rename A B`` (not when B exists), ``Hard_rename A B`` (B is overwritten): A keeps its
  position. ``Copy A B`` (not when B exists), ``Hard_copy A B``: the copy follows A.
- ``Move_to_start P`` / ``Move_to_end P``: keys starting with P, in their order.

Wildcards are prefixes as in Fluent Bit; a trailing ``*`` is accepted and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.core.record_accessor import MISSING, RecordAccessor
from logtide.agent.filters.tokens import split_quoted
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby

Record = dict[str, Any]

_ONE_ARG = ("remove", "remove_wildcard", "remove_regex", "move_to_start", "move_to_end")
_TWO_ARGS = ("set", "add", "add_if_not_present", "rename", "hard_rename", "copy", "hard_copy")
# Rules that change the record they are given and return it, never a new dict.
_IN_PLACE = frozenset(
    ("set", "add", "add_if_not_present", "remove", "remove_wildcard", "remove_regex")
)
_CONDITION_ARGS = {
    "key_exists": 1,
    "key_does_not_exist": 1,
    "a_key_matches": 1,
    "no_key_matches": 1,
    "key_value_equals": 2,
    "key_value_does_not_equal": 2,
    "key_value_matches": 2,
    "key_value_does_not_match": 2,
    "matching_keys_have_matching_values": 2,
    "matching_keys_do_not_have_matching_values": 2,
}


def _as_text(value: Any) -> str | None:
    """What Fluent Bit's modify compares: strings, and booleans as true/false."""
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return None


def _matches(regex: re.Pattern[str], value: Any) -> bool:
    text = _as_text(value)
    return text is not None and regex.search(text) is not None


@dataclass(frozen=True, slots=True)
class _Condition:
    kind: str
    accessor: RecordAccessor
    a_regex: re.Pattern[str] | None
    b: str
    b_regex: re.Pattern[str] | None

    def holds(self, record: Record) -> bool:
        kind = self.kind
        if kind in ("key_exists", "key_does_not_exist"):
            return (self.accessor.get(record) is not MISSING) == (kind == "key_exists")
        if kind in ("a_key_matches", "no_key_matches"):
            assert self.a_regex is not None
            regex = self.a_regex
            found = any(regex.search(key) for key in record)
            return found == (kind == "a_key_matches")
        if kind.startswith("key_value_"):
            value = self.accessor.get(record)
            if value is MISSING:
                return False
            if kind in ("key_value_equals", "key_value_does_not_equal"):
                equal = type(value) is str and value == self.b
                return equal == (kind == "key_value_equals")
            assert self.b_regex is not None
            return _matches(self.b_regex, value) == (kind == "key_value_matches")
        assert self.a_regex is not None and self.b_regex is not None
        a_regex, b_regex = self.a_regex, self.b_regex
        all_match = all(_matches(b_regex, v) for k, v in record.items() if a_regex.search(k))
        return all_match == (kind == "matching_keys_have_matching_values")


def _regex(pattern: str, location: Location) -> re.Pattern[str]:
    try:
        return compile_ruby(pattern)
    except RegexSyntaxError as exc:
        raise ConfigError(f"filter 'modify': {exc}", location) from None


def _condition(value: str, location: Location) -> _Condition:
    args = _split(value, location)
    kind = args[0].lower() if args else ""
    if kind not in _CONDITION_ARGS:
        raise ConfigError(
            f"filter 'modify': unknown Condition {value!r}; conditions: "
            f"{', '.join(_CONDITION_ARGS)}",
            location,
        )
    if len(args) != 1 + _CONDITION_ARGS[kind]:
        raise ConfigError(
            f"filter 'modify': Condition {args[0]} takes {_CONDITION_ARGS[kind]} argument(s), "
            f"got {value!r}",
            location,
        )
    a = args[1]
    b = args[2] if len(args) > 2 else ""
    a_regex = _regex(a, location) if "key_matches" in kind or kind.startswith("matching") else None
    b_regex = _regex(b, location) if "match" in kind and len(args) > 2 else None
    return _Condition(kind, RecordAccessor(a, location), a_regex, b, b_regex)


def _split(value: str, location: Location) -> list[str]:
    try:
        return split_quoted(value)
    except ValueError as exc:
        raise ConfigError(f"filter 'modify': {exc}", location) from None


def _prefix(text: str) -> str:
    return text[:-1] if text.endswith("*") else text


def _rule(op: str, value: str, location: Location) -> Callable[[Record], Record]:
    args = _split(value, location)
    wanted = 1 if op in _ONE_ARG else 2
    if len(args) != wanted:
        shape = "KEY" if wanted == 1 else 'KEY VALUE (quote values with spaces: "a b")'
        raise ConfigError(f"filter 'modify': {op} expects {shape}, got {value!r}", location)
    a = args[0]
    b = args[1] if wanted == 2 else ""
    if op in ("set", "add", "add_if_not_present"):
        overwrite = op == "set"

        def set_or_add(record: Record) -> Record:
            if a in record:
                if not overwrite:
                    return record
                del record[a]
            record[a] = b
            return record

        return set_or_add
    if op == "remove":
        return lambda record: (record.pop(a, None), record)[1]
    if op in ("remove_wildcard", "remove_regex"):
        if op == "remove_regex":
            regex = _regex(a, location)

            def selected(key: str) -> bool:
                return regex.search(key) is not None
        else:
            prefix = _prefix(a)

            def selected(key: str) -> bool:
                return key.startswith(prefix)

        def remove_matching(record: Record) -> Record:
            doomed = [key for key in record if selected(key)]
            for key in doomed:
                del record[key]
            return record

        return remove_matching
    if op in ("rename", "hard_rename"):
        hard = op == "hard_rename"

        def rename(record: Record) -> Record:
            if a not in record or a == b:
                return record
            if b in record:
                if not hard:
                    return record
                return {(b if key == a else key): v for key, v in record.items() if key != b}
            # The keys before ``a`` one by one (it is usually near the front), ``b`` in its
            # place, then the rest in one C-level update: ``a`` lands last and is dropped.
            out: Record = {}
            for key in record:
                if key == a:
                    break
                out[key] = record[key]
            out[b] = record[a]
            out.update(record)
            del out[a]
            return out

        return rename
    if op in ("copy", "hard_copy"):
        hard = op == "hard_copy"

        def copy(record: Record) -> Record:
            if a not in record or (b in record and not hard):
                return record
            out: Record = {}
            for key, v in record.items():
                if key == b:
                    continue
                out[key] = v
                if key == a:
                    out[b] = v
            return out

        return copy
    prefix = _prefix(a)
    to_start = op == "move_to_start"

    def move(record: Record) -> Record:
        moved = {k: v for k, v in record.items() if k.startswith(prefix)}
        if not moved:
            return record
        rest = {k: v for k, v in record.items() if not k.startswith(prefix)}
        return {**moved, **rest} if to_start else {**rest, **moved}

    return move


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifySettings(FilterSettings):
    """Every rule as written; the filter applies them in file order across keys, which it
    reads from the resolved settings' ``ordered``."""

    set: list[str]
    add: list[str]
    add_if_not_present: list[str]
    remove: list[str]
    remove_wildcard: list[str]
    remove_regex: list[str]
    rename: list[str]
    hard_rename: list[str]
    copy: list[str]
    hard_copy: list[str]
    move_to_start: list[str]
    move_to_end: list[str]
    condition: list[str]


class ModifyFilter(FilterPlugin[ModifySettings]):
    name: ClassVar[str] = "modify"
    description: ClassVar[str] = "Add, set, rename, copy, remove and reorder keys."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Set", multiple=True, description="'KEY VALUE': set KEY (added when absent)."),
        Option("Add", multiple=True, description="'KEY VALUE': add KEY when it is absent."),
        Option("Add_if_not_present", multiple=True, description="Deprecated alias of Add."),
        Option("Remove", multiple=True, description="KEY to remove."),
        Option("Remove_wildcard", multiple=True, description="Remove keys with this prefix."),
        Option("Remove_regex", multiple=True, description="Remove keys matching this regex."),
        Option("Rename", multiple=True, description="'KEY NEW': rename unless NEW exists."),
        Option("Hard_rename", multiple=True, description="'KEY NEW': rename, replacing NEW."),
        Option("Copy", multiple=True, description="'KEY NEW': copy unless NEW exists."),
        Option("Hard_copy", multiple=True, description="'KEY NEW': copy, replacing NEW."),
        Option("Move_to_start", multiple=True, description="Move keys with this prefix first."),
        Option("Move_to_end", multiple=True, description="Move keys with this prefix last."),
        Option(
            "Condition",
            multiple=True,
            description="Apply the rules only when this holds (e.g. 'Key_exists KEY').",
        ),
    )

    @classmethod
    def validate(cls, settings: Settings) -> ModifySettings:
        config = super().validate(settings)
        cls._build(settings)
        return config

    @staticmethod
    def _build(
        settings: Settings,
    ) -> tuple[list[_Condition], list[Callable[[Record], Record]]]:
        conditions: list[_Condition] = []
        rules: list[Callable[[Record], Record]] = []
        for key, value, location in settings.ordered:
            if key == "condition":
                conditions.append(_condition(value, location))
            elif key in _ONE_ARG or key in _TWO_ARGS:
                rules.append(_rule(key, value, location))
        return conditions, rules

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.conditions, self.rules = self._build(settings)
        self._in_place = [
            key in _IN_PLACE
            for key, _, _ in settings.ordered
            if key in _ONE_ARG or key in _TWO_ARGS
        ]

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        if not self.rules:
            return events
        conditions, rules = self.conditions, self.rules
        if not conditions:
            # Rule by rule over the chunk (a record's rules still run in order): a rule that
            # edits the record in place needs no new event list.
            for rule, in_place in zip(rules, self._in_place, strict=True):
                if in_place:
                    for _, record in events:
                        rule(record)
                else:
                    events = [(ts, rule(record)) for ts, record in events]
            return events
        out: list[Event] = []
        for ts, record in events:
            if conditions and not all(c.holds(record) for c in conditions):
                out.append((ts, record))
                continue
            for rule in rules:
                record = rule(record)
            out.append((ts, record))
        return out
