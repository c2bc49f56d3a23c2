"""The stream processor: every ``[STREAM_TASK]`` compiled once, fed chunk by chunk.

A task reads the chunks whose tag matches its ``FROM TAG:'pattern'`` or whose source (input
alias or ``name.N``, or a stream's name) is its ``FROM STREAM:name``. What a stream emits is a
new chunk under the stream's tag (``WITH (tag=...)``, else the stream's name, as Fluent Bit's
stream input does) and source; it is handed back to be routed and is also offered to the
other tasks, so streams chain. A chunk never re-enters a task it came out of, directly or
through a chain, so a stream cannot feed itself.

Acknowledgements: every returned chunk carries exactly one reference for the caller. Chunks
derived on the spot share their parent's acknowledgement (retained once per chunk); windows
and snapshots hold their parents until what they emit has been delivered.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from logtide.agent.core.errors import Location, QueryError
from logtide.agent.core.events import Chunk
from logtide.agent.core.loglevels import TRACE
from logtide.agent.core.serialize import dumps
from logtide.streamsql.codegen import Event
from logtide.streamsql.query import Query, compile_query
from logtide.streamsql.snapshot import Snapshot
from logtide.streamsql.windows import Emission, HoppingWindow, TumblingWindow, Window

log = logging.getLogger("logtide.streamsql")

Printer = Callable[[str, list[Event]], None]


@dataclass(frozen=True, slots=True)
class StreamTask:
    """One ``[STREAM_TASK]``: its Name, its Exec statement and where Exec was written."""

    name: str
    exec: str
    location: Location


def print_results(tag: str, events: list[Event]) -> None:
    """Where a bare ``SELECT`` (no stream to feed) writes its results, like Fluent Bit."""
    for when, record in events:
        sys.stdout.write(f"[{tag}] {dumps([when, record]).decode()}\n")
    sys.stdout.flush()


class _Task:
    def __init__(self, spec: StreamTask, query: Query, index: int) -> None:
        self.spec = spec
        self.query = query
        self.statement = query.statement
        self.key = self.statement.stream_name.lower() or f"\0select.{index}"
        self.window: Window | None = None
        self.snapshot: Snapshot | None = None


class StreamProcessor:
    """All stream tasks of a pipeline. Compiles at construction; raises :class:`QueryError`.

    ``filtered(tag)`` tells whether a filter may change records of ``tag`` in place (the
    engine runs filters on stream results). ``SELECT *`` results whose tag no filter matches
    share the source's record dicts instead of copying them; without ``filtered`` every
    result is a copy.
    """

    def __init__(
        self,
        tasks: list[StreamTask],
        *,
        clock: Callable[[], float] = time.time,
        printer: Printer = print_results,
        inputs: Iterable[str] = (),
        filtered: Callable[[str], bool] | None = None,
    ) -> None:
        self._clock = clock
        self._printer = printer
        self._tasks: list[_Task] = []
        self._snapshots: dict[str, Snapshot] = {}
        start = clock()
        taken = {name.lower(): "an input" for name in inputs}
        for index, spec in enumerate(tasks):
            query = compile_query(spec.exec, spec.location, spec.name, filtered)
            task = _Task(spec, query, index)
            self._register(task, taken)
            self._prepare(task, start)
            self._tasks.append(task)
        for task in self._tasks:
            if task.statement.kind == "flush" and task.statement.name not in self._snapshots:
                log.warning(
                    "%s: stream task '%s' flushes snapshot '%s', which no task creates",
                    task.spec.location,
                    task.spec.name,
                    task.statement.name,
                )

    def _register(self, task: _Task, taken: dict[str, str]) -> None:
        statement = task.statement
        if statement.kind == "select":
            return
        owner = taken.get(task.key)
        if owner is not None:
            raise QueryError(
                f"stream task '{task.spec.name}': the name '{statement.stream_name}' "
                f"is already used by {owner}",
                task.spec.location,
            )
        taken[task.key] = f"stream task '{task.spec.name}'"
        for prop in statement.properties:
            if prop != prop.lower() and prop.lower() in ("tag", "routable", "seconds"):
                log.warning(
                    "%s: stream task '%s': property '%s' is ignored; property names are "
                    "case-sensitive (did you mean '%s'?)",
                    task.spec.location,
                    task.spec.name,
                    prop,
                    prop.lower(),
                )

    def _prepare(self, task: _Task, start: float) -> None:
        statement = task.statement
        if statement.kind == "snapshot":
            task.snapshot = Snapshot(statement.limit, statement.seconds)
            self._snapshots[statement.name] = task.snapshot
        elif statement.aggregate and statement.window is not None:
            aggregator = task.query.aggregator
            assert aggregator is not None
            keep_tag = statement.source_kind == "stream"
            window = statement.window
            if window.kind == "TUMBLING":
                task.window = TumblingWindow(aggregator, window.size, start, keep_tag)
            else:
                task.window = HoppingWindow(
                    aggregator, window.size, window.advance, start, keep_tag, self._clock
                )

    @property
    def queries(self) -> list[Query]:
        return [task.query for task in self._tasks]

    def process(self, chunk: Chunk) -> list[Chunk]:
        """The chunks derived from one routed chunk, chained streams included."""
        out: list[Chunk] = []
        self._feed(chunk, frozenset(), out)
        return out

    def tick(self, now: float) -> list[Chunk]:
        """Window results due by ``now``."""
        out: list[Chunk] = []
        for task in self._tasks:
            if task.window is not None:
                for emission in task.window.due(now):
                    self._deliver(task, emission, frozenset(), out)
        return out

    def next_deadline(self) -> float | None:
        deadlines = [t.window.next_deadline() for t in self._tasks if t.window is not None]
        return min(deadlines) if deadlines else None

    def flush(self) -> list[Chunk]:
        """Emit every open window now (end of ``--once``, shutdown); drop snapshot contents."""
        out: list[Chunk] = []
        # A window's result may feed a window earlier in the list: go round until all are empty.
        for _ in range(len(self._tasks) + 1):
            emitted = False
            for task in self._tasks:
                if task.window is not None:
                    for emission in task.window.flush(self._clock()):
                        emitted = True
                        self._deliver(task, emission, frozenset(), out)
            if not emitted:
                break
        for snapshot in self._snapshots.values():
            snapshot.release()
        return out

    def _feed(self, chunk: Chunk, lineage: frozenset[str], out: list[Chunk]) -> None:
        for task in self._tasks:
            if task.key in lineage:
                continue
            query = task.query
            if not (query.matches(chunk.tag) or query.reads_stream(chunk.source)):
                continue
            emissions = self._consume(task, chunk)
            if log.isEnabledFor(TRACE):
                log.log(
                    TRACE,
                    "stream task '%s': %d records in, %d out (tag %s)",
                    task.spec.name,
                    len(chunk.events),
                    sum(len(emission.events) for emission in emissions),
                    chunk.tag,
                )
            for emission in emissions:
                self._deliver(task, emission, lineage, out)

    def _consume(self, task: _Task, chunk: Chunk) -> list[Emission]:
        statement = task.statement
        if task.snapshot is not None:
            task.snapshot.absorb(chunk)
            return []
        if statement.kind == "flush":
            return self._flush_snapshot(task, chunk)
        if task.window is not None:
            task.window.absorb(chunk)
            return []
        events = task.query.process(chunk.tag, chunk.events, self._clock())
        if not events:
            return []
        chunk.ack.retain()
        # The parent's share of source bytes, so the outputs' byte counters need not
        # serialise every derived record just to count it.
        size = chunk.size * len(events) // len(chunk.events)
        return [Emission(events, chunk.ack, size, chunk.origin)]

    def _flush_snapshot(self, task: _Task, chunk: Chunk) -> list[Emission]:
        snapshot = self._snapshots.get(task.statement.name)
        if snapshot is None:
            return []
        where = task.query.where
        if where is not None and not any(where(t, r, chunk.tag) for t, r in chunk.events):
            return []
        if where is None and not chunk.events:
            return []
        emission = snapshot.take()
        return [emission] if emission is not None else []

    def _deliver(
        self, task: _Task, emission: Emission, lineage: frozenset[str], out: list[Chunk]
    ) -> None:
        statement = task.statement
        chunk = Chunk(
            statement.tag,
            emission.events,
            emission.ack,
            statement.stream_name,
            emission.size,
            emission.origin,
        )
        if statement.kind == "select":
            self._printer(chunk.tag, chunk.events)
            chunk.ack.settle(True)
            return
        routable = statement.routable
        if routable:
            out.append(chunk)
        self._feed(chunk, lineage | {task.key}, out)
        if not routable:
            chunk.ack.settle(True)
