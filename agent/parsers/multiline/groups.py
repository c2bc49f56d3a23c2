"""The state of a multiline parser on one stream: its groups (a record being assembled per
group key) and the rule tables it consults for every line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.events import Event
from logtide.agent.parsers.multiline.hints import Needles, needles_of
from logtide.agent.parsers.multiline.spec import MultilineSpec, Rule

Parse = Callable[[bytes | str], Any]


@dataclass(slots=True)
class Group:
    """A record being assembled for one (parser, group key)."""

    pieces: list[str] = field(default_factory=list)
    first: dict[str, Any] | None = None
    stamp: float | None = None
    start: int = -1
    touched: float = 0.0
    rule: Rule | None = None
    # The record of a line that ended a record by a rule leading back to a start state:
    # Fluent Bit keeps it as the group's context and emits it on its own at the group's next
    # flush, unless a new record starts first (its ``python`` tracebacks' last line twice).
    pending: Event | None = None
    # Time of the last record taken as this group's context: Fluent Bit gives it to a record
    # the group ends with no context of its own.
    last: float | None = None

    @property
    def holding(self) -> bool:
        return bool(self.pieces) or self.pending is not None

    def open(self, record: dict[str, Any] | None, stamp: float | None, start: int) -> None:
        """Start a record at the line at offset ``start`` (its parsed record and time)."""
        self.first = record
        self.stamp = stamp
        self.start = start
        if stamp is not None:
            self.last = stamp

    def close(self, spec: MultilineSpec, now: float) -> Event:
        """The joined record; the group is empty again, its state kept."""
        joined = "".join(self.pieces)
        if spec.key_content is None and not joined.endswith("\n"):
            joined += "\n"
        key = spec.key_content or "log"
        if self.first is not None:
            record = dict(self.first)
            if key in record:
                record[key] = joined
        else:
            record = {key: joined}
        stamp = self.stamp if self.stamp is not None else self.last
        if stamp is None:
            stamp = now
        self.pieces = []
        self.first = None
        self.stamp = None
        self.start = -1
        # The state stays: Fluent Bit keeps a group's state across a flush, so a line that
        # continues it starts the next record (a traceback cut by a line no rule takes).
        return (stamp, record)


def single(
    spec: MultilineSpec,
    record: dict[str, Any] | None,
    stamp: float | None,
    content: str,
    now: float,
) -> Event:
    """A line no record takes, as a record of its own."""
    if record is not None:
        return (stamp if stamp is not None else now, record)
    return (now, {spec.key_content or "log": content})


class Parser:
    """A spec plus its resolved first-stage parser and its open groups."""

    __slots__ = ("_needles", "_next", "groups", "parse", "spec", "starts")

    def __init__(self, spec: MultilineSpec, parse: Parse | None) -> None:
        self.spec = spec
        self.parse = parse
        self.groups: dict[Any, Group] = {}
        self.starts = spec.start_rules()
        self._next: dict[str, tuple[Rule, ...]] = {}
        self._needles: dict[str | None, Needles | None] = {}

    def rules_from(self, state: str) -> tuple[Rule, ...]:
        rules = self._next.get(state)
        if rules is None:
            rules = self._next[state] = self.spec.rules_from(state)
        return rules

    def needles(self, state: Rule | None) -> Needles | None:
        """Substrings one of which every line a rule could take holds while the (ungrouped)
        group is in ``state`` (its last rule, None when fresh) with nothing held: the start
        rules and the rules from ``state``, each with its characters, rarest first. None
        when one of those rules has no hint."""
        to = None if state is None else state.to
        if to in self._needles:
            return self._needles[to]
        rules = self.starts if to is None else self.starts + self.rules_from(to)
        found = needles_of(rules)
        self._needles[to] = found
        return found

    def quiet(self, content: str) -> bool:
        """Whether ``content`` leaves this (regex, ungrouped) parser as it is: nothing
        held, and no rule takes it."""
        group = self.groups.get(None)
        if group is not None:
            if group.pieces or group.pending is not None:
                return False
            if group.rule is not None:
                for rule in self.rules_from(group.rule.to):
                    if rule.matches(content):
                        return False
        return not any(rule.matches(content) for rule in self.starts)
