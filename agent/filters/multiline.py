"""``multiline`` filter: lines of a record's ``multiline.key_content`` joined back into one
record (Java/Python/Go/Ruby stack traces, ``[MULTILINE_PARSER]`` rules, docker's
``partial_message`` parts).

The rules run on the engine the tail input's ``multiline.parser`` uses
(:mod:`logtide.agent.parsers.multiline`), one stream per tag.

Acknowledgements: a joined record holds the acknowledgements of all its lines.

- ``buffer Off``: lines join only within one chunk (Fluent Bit's unbuffered mode joins
  within one batch); what is open at the end of the chunk is flushed with it, so the chunk's
  own acknowledgement covers every record.
- ``buffer On`` (default): a record still open at the end of a chunk is held. The filter
  retains that chunk's acknowledgement, and the record comes out later, when a later chunk
  completes it or ``flush_ms`` passes, through the filter's emitter, as a chunk whose
  acknowledgement releases the held ones once it settles. While records are held, a
  chunk's output goes through the emitter as a whole (in order, after the records before
  it). Held lines are never acknowledged before their record is delivered, so a crash
  re-reads them; on stop they are flushed first.

Exactly-once outputs (s3, cloudwatch_logs): a chunk of records this filter emits because a
record crossed a chunk boundary continues the stream of the chunks its lines came from
(``Emitter.emit(start=...)``): its range runs from the first held chunk's start to the end
of the chunk that completed it, and outputs count it under the same mark as the plain
chunks around it. Every record the filter lets out while reading a chunk leaves with that
chunk's end, in the order read, so per mark the ends rise with the records; after a restart
the tail cuts its re-read at the last recorded end, and a re-read chunk either ends at or
before it (all its records were delivered: skipped) or begins at or after it (none were:
sent). Records completed by ``flush_ms`` (the source went idle inside a record), by the end
of the run, or from lines of more than one source or stream carry no range: they are
at-least-once. See ``docs/architecture.md``, "Joined records and exactly-once outputs".
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS
from logtide.agent.core.emitter import EMITTER_OPTIONS, EmitterFilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Ack, Event, Origin
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.multiline_partial import PartialJoiner
from logtide.agent.parsers.multiline.registry import MultilineRegistry
from logtide.agent.parsers.multiline.spec import MultilineSpec
from logtide.agent.parsers.multiline.stream import MultilineStream, Parse


class Joiner(Protocol):
    """What the filter needs of one tag's joining state (lines or partial parts)."""

    def feed_events(self, events: list[Event], key: str, start: int, now: float) -> list[Event]: ...

    def held_from(self) -> int | None: ...

    def flush_expired(self, now: float) -> list[Event]: ...

    def flush_all(self, now: float) -> list[Event]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MultilineSettings(EmitterFilterSettings):
    multiline_key_content: str
    multiline_parser: list[str]
    mode: Literal["parser", "partial_message"]
    buffer: bool
    flush_ms: int

    def __post_init__(self) -> None:
        EmitterFilterSettings.__post_init__(self)
        if self.mode == "parser" and not self.multiline_parser:
            raise ConfigError(
                "filter 'multiline': mode parser needs multiline.parser", self.location
            )


@dataclass(frozen=True, slots=True)
class _Held:
    """A chunk with held lines: its serial, its retained acknowledgement, and its stream and
    source range (None without one)."""

    serial: int
    ack: Ack
    origin: tuple[str, Origin] | None


# A tag that held nothing for this long is forgotten: each pod's file has a tag of its own,
# and the flush loop visits every tag it knows.
FORGET_IDLE_SECONDS = 60.0


@dataclass(slots=True)
class _Tag:
    joiner: Joiner
    used: float
    held: list[_Held] = field(default_factory=list)
    serial: int = 0
    # Serials of held chunks that begin inside a record (one was open when they came).
    crossed: set[int] = field(default_factory=set)


def _start(held: list[_Held], here: tuple[str, Origin] | None) -> int | None:
    """Where records joined from the ``held`` chunks and the current one (``here``) begin
    in their source, when every one of those chunks has a range in the same stream and
    source; None otherwise (the records then carry no range)."""
    if here is None:
        return None
    stream, origin = here
    start = origin.start
    for chunk in held:
        if chunk.origin is None:
            return None
        held_stream, held_origin = chunk.origin
        if held_stream != stream or held_origin.source != origin.source:
            return None
        start = min(start, held_origin.start)
    return start


def _joint(acks: list[Ack]) -> Ack:
    """An acknowledgement that settles each of ``acks`` (retained here) when it settles."""
    for ack in acks:
        ack.retain()

    def release(ok: bool) -> None:
        for ack in acks:
            ack.settle(ok)

    return Ack(release)


class MultilineFilter(FilterPlugin[MultilineSettings]):
    name: ClassVar[str] = "multiline"
    description: ClassVar[str] = "Join multiline records (stack traces, split messages)."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option(
            "multiline.key_content",
            "str",
            "log",
            "Key holding the text to join.",
        ),
        Option(
            "multiline.parser",
            "list",
            [],
            "Multiline parsers, tried in order: java, python, go, ruby, docker, cri or a "
            "[MULTILINE_PARSER] name.",
            refers="multiline_parser",
            multiple=True,
        ),
        Option(
            "mode",
            "enum",
            "parser",
            "parser: join by multiline.parser rules; partial_message: join docker's split "
            "messages by partial_id.",
            choices=("parser", "partial_message"),
        ),
        Option(
            "buffer",
            "bool",
            True,
            "On: join across chunks, holding an open record (and its acknowledgement) until "
            "it completes or flush_ms passes; Off: join within one chunk only.",
        ),
        Option("flush_ms", "int", 2000, "Milliseconds an open record waits for more lines."),
        *EMITTER_OPTIONS,
    )

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        config = self.config
        self.key = config.multiline_key_content
        self.emitter = context.emitter
        self.buffered = config.buffer and self.emitter is not None
        self._tags: dict[str, _Tag] = {}
        self._parsers: list[tuple[MultilineSpec, Parse | None]] = []
        if config.mode == "parser":
            registry = context.multiline_parsers or MultilineRegistry()
            stream = registry.stream(config.multiline_parser, context.parsers, self.location)
            # Fluent Bit sets the filter's key and flush time on each parser it instantiates.
            self._parsers = [
                (dataclasses.replace(spec, key_content=self.key, flush_ms=config.flush_ms), parse)
                for spec, parse in stream.resolved
            ]

    def _joiner(self) -> Joiner:
        if not self._parsers:
            return PartialJoiner(self.config.flush_ms)
        return MultilineStream(self._parsers)

    async def start(self) -> None:
        if self.buffered:
            self.context.spawn(self._flush_loop(), f"{self.context.instance}.flush")

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        emitter = self.emitter
        if self.buffered and emitter is not None and emitter.own:
            return events  # our own joined records, back from the pipeline's start
        now = time.time()
        if not self.buffered or emitter is None:
            # Joined within the chunk alone: nothing to keep for the tag.
            joiner = self._joiner()
            out = joiner.feed_events(events, self.key, 0, now)
            out.extend(joiner.flush_all(now))
            return out
        state = self._tags.get(tag)
        if state is None:
            state = self._tags[tag] = _Tag(self._joiner(), now)
        state.used = now
        state.serial += 1
        serial = state.serial
        if state.held:
            state.crossed.add(serial)
        joiner = state.joiner
        out = joiner.feed_events(events, self.key, serial, now)
        current = emitter.ack
        here = emitter.origin
        if state.held and out:
            # Records of this call may end lines held from earlier chunks: they go out
            # holding every held acknowledgement and this chunk's, and continue this
            # chunk's stream up to its end (see the module's docstring).
            joint = _joint([held.ack for held in state.held] + [current])
            emitter.emit(tag, out, joint, start=_start(state.held, here))
            joint.settle(True)
            out = []
        self._release(state, _Held(serial, current, here))
        return out

    @staticmethod
    def _release(state: _Tag, current: _Held | None) -> None:
        """Keep the acknowledgements of chunks whose lines are still held, release the rest;
        hold ``current`` (the tag's latest chunk) when anything is held.

        A chunk that begins inside a record keeps the chunk before it held too: a source
        checkpoints over the acknowledged prefix, and a restart must re-read that record
        from its first line, not from the middle."""
        held_from = state.joiner.held_from()
        if held_from is None:
            for held in state.held:
                held.ack.settle(True)
            state.held = []
            state.crossed.clear()
            return
        while held_from in state.crossed:
            held_from -= 1
        keep: list[_Held] = []
        for held in state.held:
            if held.serial >= held_from:
                keep.append(held)
            else:
                held.ack.settle(True)
                state.crossed.discard(held.serial)
        if current is not None:
            current.ack.retain()
            keep.append(current)
        state.held = keep

    async def _flush_loop(self) -> None:
        period = max(self.config.flush_ms / 4000.0, 0.05)
        while True:
            await asyncio.sleep(period)
            await self._flush(all_=False)

    async def _flush(self, all_: bool) -> None:
        assert self.emitter is not None
        now = time.time()
        for tag, state in list(self._tags.items()):
            if not state.held:
                if now - state.used > FORGET_IDLE_SECONDS and state.joiner.held_from() is None:
                    del self._tags[tag]
                continue
            joiner = state.joiner
            out = joiner.flush_all(now) if all_ else joiner.flush_expired(now)
            if not out:
                continue
            joint = _joint([held.ack for held in state.held])
            self._release(state, None)
            try:
                await self.emitter.send(tag, out, joint)
            finally:
                joint.settle(True)

    async def stop(self) -> None:
        """Flush every held record into the pipeline (the run is ending)."""
        if self.buffered:
            await self._flush(all_=True)
