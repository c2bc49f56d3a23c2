"""Reading files into chunks: chunk boundaries, cut points, Mem_Buf_Limit, counters."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from tests.support.plugins import plugin_context
from tests.unit.inputs.tail.parts import wire


def _lines(start: int, stop: int) -> bytes:
    return b"".join(b"line %d\n" % n for n in range(start, stop))


async def test_chunks_cover_consecutive_ranges_of_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    data = _lines(0, 100_000)  # several read blocks, each past CHUNK_EVENTS lines
    log.write_bytes(data)
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        assert not await parts.pump.read(f, parts.emit, None)
        chunks = parts.sink.chunks
        assert len(chunks) > 1
        ranges = [(chunk.origin.start, chunk.origin.end) for chunk in chunks if chunk.origin]
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        for chunk, (start, end) in zip(chunks, ranges, strict=True):
            assert data[start:end].count(b"\n") == len(chunk.events)
            assert chunk.size == end - start
        assert all(chunk.source == "src" and chunk.tag.startswith("t.") for chunk in chunks)
        assert f.row.offset == len(data)
        parts.table.close_all()


async def test_a_budget_leaves_the_rest_for_the_next_visit(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(_lines(0, 100_000))
    async with plugin_context() as context:
        parts = wire(context)
        f = parts.open(log)
        assert await parts.pump.read(f, parts.emit, 64 * 1024)
        assert 0 < f.pos < len(_lines(0, 100_000))
        while await parts.pump.read(f, parts.emit, 64 * 1024):
            pass
        assert [int(log.split()[1]) for log in parts.sink.logs()] == list(range(100_000))
        parts.table.close_all()


async def test_reads_end_at_cut_points(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(_lines(0, 10))
    async with plugin_context(once=False) as context:
        parts = wire(context)
        f = parts.open(log)
        cut = len(_lines(0, 4))
        parts.checkpointer.use_cut_points({f"test.0:{f.row.id}:{f.row.lineage}": [cut]})
        await parts.pump.read(f, parts.emit, None)
        ends = [chunk.origin.end for chunk in parts.sink.chunks if chunk.origin]
        assert ends == [cut, len(_lines(0, 10))]
        parts.table.close_all()


async def test_a_live_read_over_mem_buf_limit_starves_until_acks(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(_lines(0, 100_000))
    async with plugin_context(once=False) as context:
        parts = wire(context, limit=100 * 1024)
        parts.sink.hold = True
        f = parts.open(log)
        assert not await parts.pump.read(f, parts.emit, 8 * 1024 * 1024)
        assert parts.pump.take_starved() == {f} and parts.pump.take_starved() == set()
        stopped_at = f.pos
        assert stopped_at < len(_lines(0, 100_000))
        parts.sink.release()
        assert not parts.inflight.over
        parts.table.close_all()


async def test_a_run_that_ends_waits_for_acks_instead(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(_lines(0, 100_000))
    async with plugin_context(once=True) as context:
        parts = wire(context, limit=100 * 1024)
        parts.sink.hold = True
        f = parts.open(log)
        reading = asyncio.ensure_future(parts.pump.read(f, parts.emit, None))
        while not reading.done():
            await asyncio.sleep(0.01)
            parts.sink.release()
        assert not reading.result() and parts.pump.take_starved() == set()
        assert len(parts.sink.records) == 100_000
        parts.table.close_all()


async def test_line_counters_reach_the_metrics(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"short\n" + b"x" * 100 + b"\nok\n")
    async with plugin_context() as context:
        parts = wire(context, max_line=50)
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        assert parts.sink.logs() == ["short", "ok"]
        assert context.metrics.get("test.0", "long_lines_skipped") == 1
        assert f.long_lines_skipped == 0  # collected once into the metrics
        parts.table.close_all()


async def test_a_files_first_long_line_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Fluent Bit warns once per file when it skips long lines; a line lost to the setting
    must not go unsaid."""
    log = tmp_path / "a.log"
    log.write_bytes(b"short\n" + (b"x" * 100 + b"\n") * 3)
    async with plugin_context() as context:
        parts = wire(context, max_line=50)
        f = parts.open(log)
        await parts.pump.read(f, parts.emit, None)
        with log.open("ab") as more:
            more.write(b"y" * 100 + b"\n")
        await parts.pump.read(f, parts.emit, None)
        assert context.metrics.get("test.0", "long_lines_skipped") == 4
        parts.table.close_all()
    told = [r.getMessage() for r in caplog.records if "too long" in r.getMessage()]
    assert told == [
        f"tail: {log} has lines too long for Buffer_Max_Size (50 bytes): "
        "skipping them (counted in long_lines_skipped)"
    ]
