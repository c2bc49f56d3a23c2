"""What a multiline parser is: its mode, rules and keys, validated from a config section.

Fluent Bit has three modes: ``regex`` (a state machine of ``rule "state" "/re/" "next"``),
``endswith`` (join until the content ends with ``match_string``) and ``equal`` (join until the
pattern key equals ``match_string``). The built-in ``docker`` and ``cri`` parsers are specs of
the last two with their own first-stage parsers.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import parse_bool, parse_int
from logtide.agent.parsers.rubyre import RegexSyntaxError, compile_ruby


def search(regex: re.Pattern[str], content: str) -> bool:
    """Whether ``regex`` matches in ``content`` as Onigmo matches it.

    Onigmo's ``^`` does not match at the very end after a final newline, Python's does: a
    content ending in a newline (what the ``multiline`` filter sees) would match ``^$`` on
    every line. A leftmost match that starts there can only come from such an anchor.
    """
    match = regex.search(content)
    if match is None:
        return False
    end = len(content)
    return not (match.start() == end and end and content[-1] == "\n")


# A first-stage parser: bytes of one line -> (time or None, record) or None when it fails.
LineParser = Callable[[bytes | str], Any]

DEFAULT_FLUSH_MS = 4000
MODES = ("regex", "endswith", "equal")
_KEYS = {
    "name",
    "type",
    "parser",
    "key_content",
    "key_pattern",
    "key_group",
    "flush_timeout",
    "match_string",
    "negate",
    "rule",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One state transition: while in ``states``, a line matching ``regex`` moves to ``to``."""

    states: tuple[str, ...]
    regex: re.Pattern[str]
    to: str
    # Built-ins only: substrings one of which every line the regex matches contains, so
    # most lines are ruled out without running it.
    hint: tuple[str, ...] = ()

    def matches(self, content: str) -> bool:
        if self.hint:
            for part in self.hint:
                if part in content:
                    return search(self.regex, content)
            return False
        return search(self.regex, content)

    @property
    def is_start(self) -> bool:
        return "start_state" in self.states


@dataclass(slots=True)
class MultilineSpec:
    """A validated multiline parser definition (no I/O has happened yet)."""

    name: str
    mode: str
    location: Location
    rules: tuple[Rule, ...] = ()
    match_string: str = ""
    negate: bool = False
    flush_ms: int = DEFAULT_FLUSH_MS
    key_content: str | None = None
    key_pattern: str | None = None
    key_group: str | None = None
    parser_name: str | None = None
    # Built-ins bring their own first-stage parser; user specs name one in ``parser``.
    builtin_parser: LineParser | None = field(default=None, repr=False)
    # Optional fast path of a built-in: parses a line only when it is a whole record by
    # itself (what builtin_parser and the mode would make of it), else returns None.
    complete_line: LineParser | None = field(default=None, repr=False)

    def start_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.is_start)

    def rules_from(self, state: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if state in rule.states and not rule.is_start)

    def leads_to_start(self, rule: Rule) -> bool:
        """Whether a start rule can follow ``rule``: Fluent Bit then ends the record at once."""
        return any(other.is_start and rule.to in other.states for other in self.rules)


def _parse_rule(value: str, location: Location) -> Rule:
    try:
        parts = shlex.split(value, posix=True)
    except ValueError as exc:
        raise ConfigError(f"multiline parser rule {value!r}: {exc}", location) from None
    if len(parts) != 3:
        raise ConfigError(
            f'multiline parser rule must be: rule "state" "/regex/" "next_state", got {value!r}',
            location,
        )
    states_raw, regex_raw, to = parts
    try:
        # Onigmo's Ruby syntax, ``/.../`` wrapping and options included, as for every regex.
        regex = compile_ruby(regex_raw)
    except RegexSyntaxError as exc:
        raise ConfigError(f"multiline parser rule regex {regex_raw!r}: {exc}", location) from None
    states = tuple(part.strip() for part in states_raw.split(",") if part.strip())
    return Rule(states, regex, to)


def spec_from_entries(
    entries: list[tuple[str, str, Location]], location: Location
) -> MultilineSpec:
    """Validate one ``[MULTILINE_PARSER]`` section given as (key, value, location) triples."""
    values: dict[str, tuple[str, Location]] = {}
    rules: list[Rule] = []
    for key, value, where in entries:
        lowered = key.lower()
        if lowered not in _KEYS:
            raise ConfigError(
                f"[MULTILINE_PARSER]: unknown key '{key}'; valid keys: {', '.join(sorted(_KEYS))}",
                where,
            )
        if lowered == "rule":
            rules.append(_parse_rule(value, where))
        else:
            values[lowered] = (value.strip(), where)
    if "name" not in values or not values["name"][0]:
        raise ConfigError("[MULTILINE_PARSER] has no 'name'", location)
    name = values["name"][0]
    mode_raw, mode_loc = values.get("type", ("", location))
    mode = mode_raw.lower()
    if mode not in MODES:
        raise ConfigError(
            f"multiline parser '{name}': 'type' must be one of {', '.join(MODES)}, "
            f"got {mode_raw!r}",
            mode_loc,
        )
    spec = MultilineSpec(name=name, mode=mode, location=location, rules=tuple(rules))
    try:
        if "flush_timeout" in values:
            spec.flush_ms = parse_int(values["flush_timeout"][0])
        if "negate" in values:
            spec.negate = parse_bool(values["negate"][0])
    except ValueError as exc:
        key = "flush_timeout" if "flush_timeout" in values else "negate"
        raise ConfigError(f"multiline parser '{name}': {exc}", values[key][1]) from None
    spec.match_string = values.get("match_string", ("", location))[0]
    spec.key_content = values.get("key_content", (None, location))[0] or None
    spec.key_pattern = values.get("key_pattern", (None, location))[0] or None
    spec.key_group = values.get("key_group", (None, location))[0] or None
    spec.parser_name = values.get("parser", (None, location))[0] or None
    if mode == "regex":
        if not rules:
            raise ConfigError(f"multiline parser '{name}': type regex needs 'rule' lines", location)
        if not spec.start_rules():
            raise ConfigError(
                f"multiline parser '{name}': no rule starts from 'start_state'", location
            )
    elif not spec.match_string:
        raise ConfigError(f"multiline parser '{name}': type {mode} needs 'match_string'", location)
    return spec
