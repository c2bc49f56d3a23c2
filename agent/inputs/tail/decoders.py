"""Lines -> events: a parser or the raw ``Key``, Docker_Mode joining, or multiline parsers.

Every decoder takes a batch of complete lines (bytes, no newline) with their start offsets
(a list, or the reader's lazy :class:`~logtide.agent.inputs.tail.reader.LineStarts`) and returns
events. One that holds lines back (Docker_Mode fragments, multiline records)
reports the offset of the oldest held line in :meth:`Decoder.held_from`, which bounds the
checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from logtide.agent.core.events import Event
from logtide.agent.parsers.multiline.stream import MultilineStream, Starts
from logtide.agent.parsers.multiline.text import decode, parse_line, retry_invalid_utf8

Parse = Callable[[bytes | str], Any]


class Decoder:
    """The plain decoder: ``Parser`` when set, else ``{Key: line}``."""

    def __init__(
        self,
        parse: Parse | None,
        key: str,
        path_key: str | None,
        offset_key: str | None,
        path: str,
    ) -> None:
        self.parse = parse
        self.key = key
        self.path_key = path_key
        self.offset_key = offset_key
        self.path = path
        self.invalid_utf8 = 0
        self.parse_failed = 0

    @property
    def needs_offsets(self) -> bool:
        """Whether the start of every line is read (``Offset_Key``), not just of held ones."""
        return self.offset_key is not None

    def held_from(self) -> int | None:
        return None

    def flush_expired(self, now: float) -> list[Event]:
        return []

    def flush_all(self, now: float) -> list[Event]:
        return []

    def reset(self) -> None:
        """Forget held lines after a truncation."""

    def decode(self, lines: list[bytes], starts: Starts | None, now: float) -> list[Event]:
        events: list[Event] = []
        append = events.append
        parse = self.parse
        key = self.key
        if parse is not None:
            for line in lines:
                stripped = line[:-1] if len(line) >= 2 and line[-1] == 13 else line
                result = parse(stripped)
                bad = False
                if result is None:
                    result, bad = retry_invalid_utf8(parse, stripped)
                    if bad:
                        self.invalid_utf8 += 1
                if result is not None:
                    stamp, record = result
                    append((now if stamp is None else stamp, record))
                else:
                    self.parse_failed += 1
                    text = line.decode("utf-8", "replace") if bad else self._text(line)
                    append((now, {key: text}))
        else:
            for line in lines:
                stripped = line[:-1] if len(line) >= 2 and line[-1] == 13 else line
                try:
                    text = stripped.decode("utf-8")
                except UnicodeDecodeError:
                    text = self._text(stripped)
                append((now, {key: text}))
        self.annotate(events, starts)
        return events

    def annotate(self, events: list[Event], starts: Starts | None) -> None:
        """Path_Key / Offset_Key, appended after the record's own keys as Fluent Bit does."""
        if self.path_key is None and self.offset_key is None:
            return
        for index, (_, record) in enumerate(events):
            if self.path_key is not None:
                record[self.path_key] = self.path
            if self.offset_key is not None and starts is not None:
                record[self.offset_key] = starts[index]

    def _text(self, line: bytes) -> str:
        text, bad = decode(line)
        if bad:
            self.invalid_utf8 += 1
        return text


class DockerModeDecoder(Decoder):
    """Docker_Mode: join json-file fragments until ``log`` ends with a newline.

    The joined line is the last fragment with ``log`` replaced by every fragment's ``log``
    concatenated, then given to ``Parser`` like any line. A line that is not docker JSON
    first flushes what is held, then goes through the normal path. With
    ``Docker_Mode_Parser``, complete lines keep joining until a line matches that parser
    (the first line of the next record).

    Hot path: a complete line with nothing held is parsed once, by ``Parser``; when that
    record carries a string ``log`` it decides completeness without a second JSON parse.
    """

    def __init__(
        self,
        parse: Parse | None,
        key: str,
        path_key: str | None,
        offset_key: str | None,
        path: str,
        flush_after: float,
        first_line: Parse | None,
        loads: Parse | None = None,
    ) -> None:
        super().__init__(parse, key, path_key, offset_key, path)
        # The parser's shortcut (:attr:`logtide.agent.parsers.base.Parser.loads`), if it has one.
        self.loads = loads
        self.flush_after = flush_after
        self.first_line = first_line
        self._logs: list[str] = []
        self._last: bytes | str | None = None
        self._start = -1
        self._touched = 0.0
        self._complete = False
        self._first_seen = False

    def held_from(self) -> int | None:
        return self._start if self._last is not None else None

    def reset(self) -> None:
        self._logs = []
        self._last = None
        self._start = -1
        self._complete = False

    def flush_expired(self, now: float) -> list[Event]:
        if self._last is not None and now - self._touched >= self.flush_after:
            return self._flush(now)
        return []

    def flush_all(self, now: float) -> list[Event]:
        return self._flush(now) if self._last is not None else []

    def _flush(self, now: float) -> list[Event]:
        last = self._last
        if last is None:
            return []
        record = orjson.loads(last)
        record["log"] = "".join(self._logs)
        self.reset()
        return Decoder.decode(self, [orjson.dumps(record)], None, now)

    def _docker_log(self, line: bytes) -> tuple[str | None, bytes | str]:
        """``log`` of a docker JSON line (None if it is not one) and the text to keep."""
        try:
            record = orjson.loads(line)
            kept: bytes | str = line
        except orjson.JSONDecodeError:
            text, bad = decode(line)
            if not bad:
                return None, line
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError:
                return None, line
            self.invalid_utf8 += 1
            kept = text
        log = record.get("log") if type(record) is dict else None
        return (log if isinstance(log, str) else None), kept

    def decode(self, lines: list[bytes], starts: Starts | None, now: float) -> list[Event]:
        assert starts is not None
        events: list[Event] = []
        append = events.append
        parse, loads = self.parse, self.loads
        first_line = self.first_line
        offset_key = self.offset_key
        for index, line in enumerate(lines):
            stripped = line[:-1] if len(line) >= 2 and line[-1] == 13 else line
            if first_line is not None:
                self._check_first_line(stripped, now, events)
            before = len(events)
            if self._last is None and first_line is None and parse is not None:
                if loads is None:
                    result = parse(stripped)
                else:
                    try:
                        result = None, loads(stripped)
                    except orjson.JSONDecodeError:
                        result = None
                if result is not None:
                    stamp, record = result
                    log = record.get("log") if type(record) is dict else None
                    if type(log) is str and log.endswith("\n"):
                        if offset_key is not None:
                            record[offset_key] = starts[index]
                        append((now if stamp is None else stamp, record))
                        continue
            log, kept = self._docker_log(stripped)
            if log is None:
                if self._last is not None:
                    events.extend(self._flush(now))
                    before = len(events)
                events.extend(Decoder.decode(self, [line], None, now))
            else:
                if self._last is None:
                    self._start = starts[index]
                self._logs.append(log)
                self._last = kept
                self._touched = now
                self._complete = log.endswith("\n")
                if not self._complete or first_line is not None:
                    continue
                events.extend(self._flush(now))
            if offset_key is not None:
                self._annotate_one(events, before, starts[index])
        if self.path_key is not None:
            for _, record in events:
                record[self.path_key] = self.path
        return events

    def _annotate_one(self, events: list[Event], since: int, offset: int) -> None:
        if self.offset_key is not None:
            for _, record in events[since:]:
                record[self.offset_key] = offset

    def _check_first_line(self, line: bytes, now: float, events: list[Event]) -> None:
        assert self.first_line is not None
        is_first = parse_line(self.first_line, line)[0] is not None
        if is_first:
            self._first_seen = True
        if self._last is not None and self._complete and (is_first or not self._first_seen):
            events.extend(self._flush(now))


class MultilineDecoder(Decoder):
    """``multiline.parser``: lines go through a :class:`MultilineStream`."""

    def __init__(
        self,
        stream: MultilineStream,
        key: str,
        path_key: str | None,
        offset_key: str | None,
        path: str,
    ) -> None:
        super().__init__(None, key, path_key, offset_key, path)
        self.stream = stream

    def held_from(self) -> int | None:
        return self.stream.held_from()

    def reset(self) -> None:
        self.stream.reset()

    def flush_expired(self, now: float) -> list[Event]:
        return self._count(self.stream.flush_expired(now))

    def flush_all(self, now: float) -> list[Event]:
        return self._count(self.stream.flush_all(now))

    def decode(self, lines: list[bytes], starts: Starts | None, now: float) -> list[Event]:
        assert starts is not None
        offset_key = self.offset_key
        if offset_key is None:
            clean = [line[:-1] if len(line) >= 2 and line[-1] == 13 else line for line in lines]
            return self._count(self.stream.feed_all(clean, starts, now))
        events: list[Event] = []
        feed = self.stream.feed
        for index, line in enumerate(lines):
            stripped = line[:-1] if len(line) >= 2 and line[-1] == 13 else line
            produced = feed(stripped, starts[index], now)
            if produced:
                if offset_key is not None:
                    for _, record in produced:
                        record[offset_key] = starts[index]
                events.extend(produced)
        return self._count(events)

    def _count(self, events: list[Event]) -> list[Event]:
        self.invalid_utf8 += self.stream.invalid_utf8
        self.stream.invalid_utf8 = 0
        if self.path_key is not None:
            for _, record in events:
                record[self.path_key] = self.path
        return events
