"""Records the ``multiline`` filter joins across chunks reach the exactly-once outputs once,
whatever the chunking after a crash: the real filter and emitter, the real CloudWatch journal
and S3 ``appends.log`` (reopened from their files after each crash), and the output runner's
rule (a chunk whose range ends at or below its mark's watermark is already held).

A second output that lags holds the tail's checkpoint back by a random amount, so each
restart reads lines again that the exactly-once outputs already hold, chunked differently
(bigger chunks, cut at the outputs' watermarks as the tail cuts them).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from logtide.agent.core.events import Ack, Chunk, Event, Origin
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import PluginContext
from logtide.agent.engine.emitter import EmitterHub, EngineEmitter
from logtide.agent.engine.plan import cut_points
from logtide.agent.filters.multiline import MultilineFilter
from logtide.sinks.cloudwatch_logs.journal import Journal
from logtide.sinks.s3.appends import AppendLog
from tests.support.plugins import build

SOURCE = "token-1"


def trace(n: int) -> list[str]:
    return [
        f"java.lang.IllegalStateException: order {n} is not valid",
        f"\tat io.shop.Orders.save(Orders.java:{n})",
        f"Caused by: java.io.IOException: reset {n}",
        "\tat io.shop.Db.read(Db.java:3)",
        "\t... 12 more",
    ]


def app_log(rng: random.Random, units: int) -> tuple[list[str], Counter[str]]:
    """Lines (traces and single lines, ending with a single line) and the records they make."""
    lines: list[str] = []
    records: Counter[str] = Counter()
    for n in range(units):
        if rng.random() < 0.5:
            lines.extend(trace(n))
            records["".join(f"{line}\n" for line in trace(n))] += 1
        else:
            lines.append(f"INFO single {n}")
            records[f"INFO single {n}\n"] += 1
    lines.append("INFO the end")
    records["INFO the end\n"] += 1
    return lines, records


class OnceOutput:
    """An exactly-once output: the runner's skip rule over a sink's durable watermarks."""

    def __init__(self, journal: Journal | None, appends: AppendLog | None) -> None:
        self.journal, self.appends = journal, appends
        self.got: Counter[str] = Counter()

    @property
    def watermarks(self) -> dict[str, int]:
        if self.journal is not None:
            return self.journal.watermarks
        assert self.appends is not None
        return self.appends.watermarks

    def put(self, chunk: Chunk) -> None:
        origin, mark = chunk.origin, chunk.mark
        if origin is not None and origin.end <= self.watermarks.get(mark or "", -1):
            return
        marks = [(mark, origin.end)] if mark is not None and origin is not None else []
        if self.journal is not None:
            sent = [
                {"timestamp": int(ts * 1000), "message": str(record["log"])}
                for ts, record in chunk.events
            ]
            self.journal.write(self.journal.prepare([(("g", "s"), orjson.dumps(sent))], marks))
        if self.appends is not None:
            self.appends.record({"buffer": 1}, marks)
        self.got.update(str(record["log"]) for _, record in chunk.events)


@dataclass
class Run:
    """One agent process: a fresh filter and emitter, the outputs, the laggard's acks."""

    outputs: list[OnceOutput]
    lagging: list[Ack] = field(default_factory=list)
    done: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hub = EmitterHub(self._no_send, Metrics(), logging.getLogger("test"))
        emitter = EngineEmitter("emitter_for_ml", self.hub, 10 << 20)
        context = PluginContext(
            instance="ml",
            spawn=lambda coro, name: coro.close(),
            metrics=Metrics(),
            logger=logging.getLogger("test"),
            emitter=emitter,
        )
        options = {"multiline.key_content": "log", "multiline.parser": "java"}
        self.filter = build(MultilineFilter, context, **options)

    @staticmethod
    async def _no_send(chunk: Chunk, hops: int) -> None:
        raise AssertionError("no record waits for flush_ms here")

    def _route(self, chunk: Chunk) -> None:
        if not chunk.events:
            return
        for output in self.outputs:
            output.put(chunk)  # durable at once
        chunk.ack.retain()
        self.lagging.append(chunk.ack)  # the laggard settles it later

    def _pass(self, chunk: Chunk) -> list[Chunk]:
        self.hub.current = chunk
        try:
            chunk.events = self.filter(chunk.tag, chunk.events)
        finally:
            self.hub.current = None
        return self.hub.take()

    def ingest(self, serial: int, events: list[Event], start: int, end: int) -> None:
        """The engine's pass over one tail chunk: filters, route, then what they emitted."""
        ack = Ack(lambda ok: self.done.add(serial))
        chunk = Chunk("app", events, ack, "tail.0", end - start, Origin(SOURCE, start, end))
        for emitted in self._pass(chunk):
            assert self._pass(emitted) == []  # the filter lets its own records by
            self._route(emitted)
            emitted.ack.settle(True)
        self._route(chunk)
        chunk.ack.settle(True)

    def catch_up(self, count: int) -> None:
        """The lagging output takes ``count`` more of what it holds, in order."""
        taken, self.lagging = self.lagging[:count], self.lagging[count:]
        for ack in taken:
            ack.settle(True)


def _read(
    run: Run,
    offsets: list[int],
    lines: list[str],
    first: int,
    sizes: tuple[int, int],
    rng: random.Random,
    stop: int | None,
) -> list[tuple[int, int]]:
    """Read ``lines`` from index ``first`` as chunks of ``sizes`` lines, each ending at the
    first cut point (the outputs' watermarks) inside it; stop after ``stop`` chunks. Returns
    each chunk's byte range."""
    cuts = set(cut_points(output.watermarks for output in run.outputs).get(SOURCE, []))
    ranges: list[tuple[int, int]] = []
    index = first
    while index < len(lines) and (stop is None or len(ranges) < stop):
        end = min(len(lines), index + rng.randint(*sizes))
        end = next((at for at in range(index + 1, end) if offsets[at] in cuts), end)
        events = [(1.0 + i, {"log": f"{lines[i]}\n"}) for i in range(index, end)]
        run.ingest(len(ranges), events, offsets[index], offsets[end])
        ranges.append((offsets[index], offsets[end]))
        index = end
    return ranges


def _outputs(folder: Path, s3_marks: dict[str, int]) -> list[OnceOutput]:
    """Both outputs as a start finds them: the CloudWatch journal reopened, the S3 store's
    journal (``s3_marks``, kept by compaction) plus its ``appends.log``."""
    journal = Journal(folder / "cw.journal")
    journal.open()
    appends = AppendLog(folder, s3_marks)
    appends.fold({}, {}, 0)
    s3_marks.update(appends.watermarks)
    appends.restart()
    return [OnceOutput(journal, None), OnceOutput(None, appends)]


def _close(outputs: list[OnceOutput]) -> None:
    for output in outputs:
        if output.journal is not None:
            output.journal.close()
        if output.appends is not None:
            output.appends.close()


@pytest.mark.parametrize("seed", range(6))
def test_joined_records_reach_cloudwatch_and_s3_once_across_crashes(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    lines, wanted = app_log(rng, 240)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    line_at = {offset: index for index, offset in enumerate(offsets)}
    got: list[Counter[str]] = [Counter(), Counter()]
    s3_marks: dict[str, int] = {}
    checkpoint = 0
    for crash in range(6):
        last = crash == 5
        outputs = _outputs(tmp_path, s3_marks)
        run = Run(outputs)
        # Before the first crash chunks are small (a writer's bursts); after a restart the
        # tail reads what is there, in bigger chunks cut at the watermarks.
        sizes = (1, 4) if crash == 0 else (1, 40)
        stop = None if last else rng.randint(5, 60)
        ranges = _read(run, offsets, lines, line_at[checkpoint], sizes, rng, stop)
        # The laggard took some of what it holds (all, in the last run); the checkpoint is
        # the start of the first chunk not settled.
        run.catch_up(len(run.lagging) if last else rng.randint(0, len(run.lagging)))
        unsettled = [serial for serial in range(len(ranges)) if serial not in run.done]
        if unsettled:
            checkpoint = ranges[unsettled[0]][0]
        elif ranges:
            checkpoint = ranges[-1][1]
        for total, output in zip(got, outputs, strict=True):
            total.update(output.got)
        _close(outputs)
    assert checkpoint == offsets[-1]
    for name, total in zip(("CloudWatch", "S3"), got, strict=True):
        assert set(total) == set(wanted), f"{name}: records lost or joined differently"
        twice = [record for record, n in total.items() if n > 1]
        assert twice == [], f"{name}: {len(twice)} records twice, e.g. {twice[:2]}"
