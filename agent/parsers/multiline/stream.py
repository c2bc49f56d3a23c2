"""The multiline engine: one :class:`MultilineStream` per tailed file.

Lines go in as bytes with their file offset; complete records come out. While a record is
being assembled the stream reports :meth:`held_from`, the offset of its first line, so the
tail input never checkpoints past data that is still only in memory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from logtide.agent.core.events import Event
from logtide.agent.parsers.multiline.groups import Group, Parse, Parser, single
from logtide.agent.parsers.multiline.hints import passes
from logtide.agent.parsers.multiline.spec import MultilineSpec, Rule, search
from logtide.agent.parsers.multiline.text import decode, parse_line

# Lines per block a batch is split into when some line in it may start or continue a record.
_BLOCK = 128


class Starts(Protocol):
    """Start offset of each line of a batch, by index."""

    def __getitem__(self, index: int, /) -> int: ...


class MultilineStream:
    """Joins the lines of one file with one or more multiline parsers, in order.

    Each line goes to the first parser whose first-stage parser accepts it (a parser without
    one accepts every line); a line no parser accepts becomes ``{"log": line}`` on its own.
    """

    def __init__(self, parsers: Sequence[tuple[MultilineSpec, Parse | None]]) -> None:
        self._parsers = [Parser(spec, parse) for spec, parse in parsers]
        self._lone = self._parsers[0].groups.setdefault(None, Group())
        # Every parser a plain regex machine over the content: a line none takes can skip
        # the joining machinery (the usual line of a mostly single-line log).
        self._plain = all(
            p.spec.mode == "regex" and p.parse is None and not p.spec.key_group
            for p in self._parsers
        )
        self.invalid_utf8 = 0
        self._bad = False
        # Index of the parser that took the last line: tried first, as Fluent Bit does, so
        # a record in progress is continued by its own parser.
        self._lru = 0

    @property
    def resolved(self) -> list[tuple[MultilineSpec, Parse | None]]:
        """The parsers this stream was built from (to build more streams like it)."""
        return [(parser.spec, parser.parse) for parser in self._parsers]

    # -- feeding -------------------------------------------------------------------------
    def feed(self, line: bytes, start: int, now: float | None = None) -> list[Event]:
        """Add one line (no newline) that starts at file offset ``start``; return the records
        it completes."""
        self._bad = False
        out = self._feed(line, start, time.time() if now is None else now)
        if self._bad:
            self.invalid_utf8 += 1
        return out

    def feed_all(self, lines: list[bytes], starts: Starts, now: float) -> list[Event]:
        """:meth:`feed` for a batch of lines (CR-stripped, no newline), records in order;
        ``starts[i]`` is the file offset of ``lines[i]``, read only for lines that are fed.

        When the parser that took the last line (the one a line is offered to first)
        recognises whole-record lines (CRI ``F``, a docker line whose ``log`` ends in a
        newline), such a line whose group holds nothing is its own record and skips the
        joining machinery, as :meth:`feed` would have made it.
        """
        out: list[Event] = []
        append = out.append
        first, count = 0, len(lines)
        while first < count:
            parser = self._parsers[self._lru]
            complete = parser.spec.complete_line
            if complete is None:
                for index in range(first, count):
                    out.extend(self.feed(lines[index], starts[index], now))
                return out
            groups = parser.groups
            key_group = parser.spec.key_group
            run, first = first, count
            for index in range(run, count):
                line = lines[index]
                result = complete(line)
                if result is not None:
                    stamp, record = result
                    key = record.get(key_group) if key_group else None
                    if key is None or type(key) is str:
                        group = groups.get(key)
                        if group is None or not group.pieces:
                            append((now if stamp is None else stamp, record))
                            continue
                lru = self._lru
                out.extend(self.feed(line, starts[index], now))
                if self._lru != lru:
                    # Another parser took the line: it is offered the next lines first.
                    first = index + 1
                    break
        return out

    def feed_events(self, events: list[Event], key: str, start: int, now: float) -> list[Event]:
        """:meth:`feed_event` for a batch; lines no rule takes pass with no per-line list, and
        a batch none of whose lines a rule could take is returned as it is."""
        if self._plain and len(self._parsers) == 1:
            if passes(self._lone, self._parsers[0], events, key):
                return events
            if len(events) <= _BLOCK:
                return self._feed_one(events, key, start, now)
            # A line a rule may take somewhere in the batch: blocks around it still pass
            # whole, so an occasional trace costs line-by-line tests for its blocks only.
            out: list[Event] = []
            for index in range(0, len(events), _BLOCK):
                block = events[index : index + _BLOCK]
                if passes(self._lone, self._parsers[0], block, key):
                    out.extend(block)
                else:
                    out.extend(self._feed_one(block, key, start, now))
            return out
        out = []
        append = out.append
        parsers = self._parsers
        lone = self._lone
        plain = self._plain
        for event in events:
            content = event[1].get(key)
            if plain and type(content) is str:
                for parser in parsers:
                    if not parser.quiet(content):
                        break
                else:
                    lone.last = event[0]
                    append(event)
                    continue
            out.extend(self.feed_event(event, key, start, now))
        return out

    def _feed_one(self, events: list[Event], key: str, start: int, now: float) -> list[Event]:
        """:meth:`feed_events` for one plain regex parser, the usual filter: the test of a
        line no rule takes is inlined (it is most lines)."""
        out: list[Event] = []
        append = out.append
        group = self._lone
        starts = [(rule.hint, rule.regex) for rule in self._parsers[0].starts]
        for event in events:
            content = event[1].get(key)
            if type(content) is str and group.rule is None and not group.pieces:
                for hint, regex in starts:
                    if hint:
                        for part in hint:
                            if part in content:
                                break
                        else:
                            continue
                    if search(regex, content):
                        break
                else:
                    if group.pending is None:
                        group.last = event[0]
                        append(event)
                        continue
            out.extend(self.feed_event(event, key, start, now))
        return out

    def feed_event(self, event: Event, key: str, start: int, now: float) -> list[Event]:
        """Add one record whose ``key`` holds the line (the ``multiline`` filter); ``start``
        marks where it came from (what :meth:`held_from` reports). A record without a string
        ``key`` ends what is held and passes alone."""
        stamp, record = event
        content = record.get(key)
        if type(content) is not str:
            out = self.flush_all(now)
            out.append(event)
            return out
        return self._dispatch(None, content, record, stamp, start, now)

    def _feed(self, line: bytes, start: int, now: float) -> list[Event]:
        return self._dispatch(line, None, None, None, start, now)

    def _order(self) -> list[Parser]:
        parsers = self._parsers
        if self._lru == 0 or len(parsers) == 1:
            return parsers
        return [parsers[self._lru], *parsers[: self._lru], *parsers[self._lru + 1 :]]

    def _dispatch(
        self,
        line: bytes | None,
        text: str | None,
        given: dict[str, Any] | None,
        given_stamp: float | None,
        start: int,
        now: float,
    ) -> list[Event]:
        """One line (``line`` bytes, or ``text`` with its record ``given``) to the first
        parser that takes it; a line none takes ends what every parser holds and is a record
        of its own."""
        out: list[Event] = []
        for parser in self._order():
            stamp: float | None
            record: dict[str, Any] | None
            if parser.parse is not None:
                if line is None:
                    parsed = parser.parse(text or "")
                else:
                    parsed, bad = parse_line(parser.parse, line)
                    self._bad |= bad
                if parsed is None:
                    continue
                stamp, record = parsed
                content = record.get(parser.spec.key_content or "log")
                if not isinstance(content, str):
                    continue
            else:
                if text is None:
                    assert line is not None
                    text, bad = decode(line)
                    self._bad |= bad
                stamp, record, content = given_stamp, given, text
            if self._process(parser, record, stamp, content, start, now, out):
                self._lru = self._parsers.index(parser)
                return out
            if parser.parse is not None:
                # Not part of any multiline record: flush what this parser holds, emit alone.
                self._flush_parser(parser, now, out)
                out.append(single(parser.spec, record, stamp, content, now))
                return out
        for parser in self._parsers:
            self._flush_parser(parser, now, out)
        if given_stamp is not None:
            # Fluent Bit passes a lone line through its first parser's default group.
            self._lone.last = given_stamp
        if given is not None:
            out.append((now if given_stamp is None else given_stamp, given))
            return out
        if text is None:
            assert line is not None
            text, bad = decode(line)
            self._bad |= bad
        out.append((now, {"log": text}))
        return out

    def _process(
        self,
        parser: Parser,
        record: dict[str, Any] | None,
        stamp: float | None,
        content: str,
        start: int,
        now: float,
        out: list[Event],
    ) -> bool:
        spec = parser.spec
        group_key = record.get(spec.key_group) if (record and spec.key_group) else None
        if not isinstance(group_key, str | int | float | bool | type(None)):
            group_key = str(group_key)
        group = parser.groups.get(group_key)
        if group is None:
            group = parser.groups[group_key] = Group()
        if spec.mode == "regex":
            return self._regex(parser, group, record, stamp, content, start, now, out)
        pattern: Any = content
        if spec.key_pattern and record is not None:
            pattern = record.get(spec.key_pattern)
        if not isinstance(pattern, str):
            return False
        if spec.mode == "endswith":
            matched = pattern.endswith(spec.match_string)
        else:
            matched = pattern == spec.match_string
        if spec.negate:
            matched = not matched
        if matched and record is not None and spec.key_content and not group.pieces:
            # A whole record in one line (CRI ``F``, docker ``log`` ending in a newline), the
            # common case: it is its own result, without opening and joining a group.
            group.touched = now
            out.append((stamp if stamp is not None else now, record))
            return True
        if not group.pieces and group.first is None:
            group.open(record, stamp, start)
        if spec.key_content is None and group.pieces and not group.pieces[-1].endswith("\n"):
            group.pieces.append("\n")
        group.pieces.append(content)
        group.touched = now
        if matched:
            out.append(group.close(spec, now))
        return True

    def _regex(
        self,
        parser: Parser,
        group: Group,
        record: dict[str, Any] | None,
        stamp: float | None,
        content: str,
        start: int,
        now: float,
        out: list[Event],
    ) -> bool:
        spec = parser.spec
        matched: Rule | None = None
        late = False
        if group.rule is not None:
            for rule in parser.rules_from(group.rule.to):
                if rule.matches(content):
                    if group.pieces and not group.pieces[-1].endswith("\n"):
                        group.pieces.append("\n")
                    if not group.pieces and group.pending is not None:
                        # Fluent Bit continues the kept context, not the new line's record.
                        group.open(group.pending[1], group.pending[0], group.start)
                        group.pending = None
                    elif not group.pieces:
                        # Fluent Bit takes the line's record as context only after the rule
                        # ran: a record this line ends at once has none.
                        group.open(None, None, start)
                        late = True
                    group.pieces.append(content if content else "\n")
                    matched = rule
                    break
        if matched is None:
            for rule in parser.starts:
                if rule.matches(content):
                    matched = rule
                    break
            if matched is None:
                return False
            if group.pieces:
                out.append(group.close(spec, now))
            # A kept record stays the context (its keys); the time is the new line's.
            context = record if group.pending is None else group.pending[1]
            group.pending = None
            group.open(context, stamp, start)
            group.pieces.append(content)
        group.rule = matched
        group.touched = now
        if spec.leads_to_start(matched):
            # The record is complete: a start state is all that can follow.
            out.append(group.close(spec, now))
            line_record = record if record is not None else {spec.key_content or "log": content}
            group.pending = (stamp if stamp is not None else now, line_record)
            group.start = start
        elif late:
            group.first = record
            group.stamp = stamp
        if stamp is not None and (late or group.pending is not None):
            group.last = stamp
        return True

    # -- flushing ------------------------------------------------------------------------
    def held_from(self) -> int | None:
        """File offset of the oldest line still held in an unfinished record."""
        starts = [
            group.start
            for parser in self._parsers
            for group in parser.groups.values()
            if group.holding
        ]
        return min(starts) if starts else None

    def flush_expired(self, now: float | None = None) -> list[Event]:
        now = time.time() if now is None else now
        out: list[Event] = []
        for parser in self._parsers:
            limit = parser.spec.flush_ms / 1000.0
            for group in parser.groups.values():
                if group.holding and now - group.touched >= limit:
                    self._flush_group(parser.spec, group, now, out)
        return out

    def flush_all(self, now: float | None = None) -> list[Event]:
        now = time.time() if now is None else now
        out: list[Event] = []
        for parser in self._parsers:
            self._flush_parser(parser, now, out)
        return out

    def reset(self) -> None:
        """Forget held lines (their file was truncated; they are re-read or gone)."""
        for parser in self._parsers:
            parser.groups.clear()

    def _flush_parser(self, parser: Parser, now: float, out: list[Event]) -> None:
        for group in parser.groups.values():
            if group.holding:
                self._flush_group(parser.spec, group, now, out)

    def _flush_group(self, spec: MultilineSpec, group: Group, now: float, out: list[Event]) -> None:
        if group.pieces:
            out.append(group.close(spec, now))
        elif group.pending is not None:
            out.append(group.pending)
            group.start = -1
        group.pending = None
