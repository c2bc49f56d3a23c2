"""What TailInput takes from the engine's context when it runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from logtide.agent.inputs.tail import TailInput
from tests.support.plugins import build, plugin_context
from tests.unit.inputs.tail.harness import Sink, registries, run_once


def _lines(start: int, stop: int) -> bytes:
    return b"".join(b"line %d\n" % n for n in range(start, stop))


async def test_a_read_again_ends_chunks_at_the_outputs_cut_points(tmp_path: Path) -> None:
    log, db = tmp_path / "app.log", str(tmp_path / "t.db")
    log.write_bytes(_lines(0, 10))
    first = Sink(fail=True)  # nothing delivered: the next run reads it all again
    await run_once(first, path=str(log), db=db)
    (source,) = {chunk.origin.source for chunk in first.chunks if chunk.origin}
    cut = len(_lines(0, 4))
    again = Sink()
    async with plugin_context(once=True, **registries()) as context:
        # As the engine does once the outputs have started, before any input runs.
        context = dataclasses.replace(context, cut_points={source: [cut]})
        tail = build(TailInput, context, path=str(log), db=db)
        await tail.run(again.emit)
        await tail.close()
    origins = [chunk.origin for chunk in again.chunks if chunk.origin]
    assert {origin.source for origin in origins} == {source}
    assert [(origin.start, origin.end) for origin in origins] == [
        (0, cut),
        (cut, len(_lines(0, 10))),
    ]
    assert [int(line.split()[1]) for line in again.logs()] == list(range(10))
