"""Acknowledgements through every stage, in-process with the real engine: filters, stream
tasks (derived records hold their parent's acknowledgement), router, every matching output;
and the tail's checkpoint over the contiguous acknowledged prefix only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.events import Ack, Chunk
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import REGISTRY, Emit, InputPlugin
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan
from logtide.agent.inputs.tail.ranges import RangeTracker
from tests.support.logapp import file_records


class ProbeInput(InputPlugin):
    """Emits :attr:`script` chunks, each with an acknowledgement that reports to
    :attr:`fired` together with what the outputs held at that moment."""

    name: ClassVar[str] = "ackprobe"
    description: ClassVar[str] = "test input"
    options: ClassVar[tuple[Option, ...]] = InputPlugin.options
    script: ClassVar[list[tuple[str, list[dict[str, object]]]]] = []
    fired: ClassVar[list[tuple[int, bool, int]]] = []
    observe: ClassVar[Callable[[], int]] = staticmethod(lambda: 0)

    async def run(self, emit: Emit) -> None:
        for index, (tag, records) in enumerate(self.script):

            def done(ok: bool, index: int = index) -> None:
                ProbeInput.fired.append((index, ok, ProbeInput.observe()))

            await emit(Chunk(tag, [(1.0, dict(r)) for r in records], Ack(done)))


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> type[ProbeInput]:
    from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS

    monkeypatch.setattr(ProbeInput, "options", COMMON_INPUT_OPTIONS)
    monkeypatch.setitem(REGISTRY["input"], "ackprobe", f"{__name__}:ProbeInput")
    monkeypatch.setattr(ProbeInput, "fired", [])
    monkeypatch.setattr(ProbeInput, "observe", staticmethod(lambda: 0))
    return ProbeInput


def pipeline(out: Path, *, extra_filter: str = "", missing_output: bool = False) -> str:
    ca_path = out / "missing" if missing_output else out
    return f"""[SERVICE]
    Flush 0.1
[INPUT]
    Name ackprobe
    Tag order
{extra_filter}[STREAM_TASK]
    Name ca
    Exec CREATE STREAM ca WITH (tag='states.ca') AS SELECT * FROM TAG:'order*' WHERE state = 'CA';
[STREAM_TASK]
    Name notca
    Exec CREATE STREAM notca WITH (tag='states.notca') AS SELECT * FROM TAG:'order*' WHERE state <> 'CA';
[OUTPUT]
    Name file
    Match states.ca
    Path {ca_path}
    File ca.log
[OUTPUT]
    Name file
    Match states.notca
    Path {out}
    File notca.log
"""


async def run(config: str) -> int:
    return await Engine(build_plan(load_string(config)), once=True).run()


async def test_derived_records_hold_the_parent_until_every_output_has_them(
    tmp_path: Path, probe: type[ProbeInput]
) -> None:
    probe.script = [("order", [{"state": "CA", "n": 1}, {"state": "NY", "n": 2}])]
    probe.observe = staticmethod(lambda: len(file_records(tmp_path)))
    assert await run(pipeline(tmp_path)) == 0
    # One acknowledgement, fired once, True, when both derived streams were written.
    assert probe.fired == [(0, True, 2)]


async def test_a_chunk_routed_nowhere_is_acknowledged_at_once(
    tmp_path: Path, probe: type[ProbeInput]
) -> None:
    probe.script = [("elsewhere", [{"state": "CA"}])]
    assert await run(pipeline(tmp_path)) == 0
    assert probe.fired == [(0, True, 0)]


async def test_records_dropped_by_a_filter_are_acknowledged(
    tmp_path: Path, probe: type[ProbeInput]
) -> None:
    grep = "[FILTER]\n    Name grep\n    Match order\n    Exclude state .*\n"
    probe.script = [("order", [{"state": "CA"}, {"state": "TX"}])]
    assert await run(pipeline(tmp_path, extra_filter=grep)) == 0
    assert probe.fired == [(0, True, 0)]


async def test_an_output_that_gives_up_fails_the_acknowledgement(
    tmp_path: Path, probe: type[ProbeInput]
) -> None:
    probe.script = [("order", [{"state": "CA"}, {"state": "TX"}]), ("order", [{"state": "TX"}])]
    assert await run(pipeline(tmp_path, missing_output=True)) == 1
    # The first chunk's CA record could not be written: its source must be read again.
    # The second chunk went only to the working output.
    assert sorted((i, ok) for i, ok, _ in probe.fired) == [(0, False), (1, True)]


def test_checkpoint_moves_over_the_contiguous_acknowledged_prefix_only() -> None:
    tracker = RangeTracker(0)
    a, b, c = tracker.add(0, 10, b"a"), tracker.add(10, 20, b"b"), tracker.add(20, 30, b"c")
    assert not tracker.settle(c, True)
    assert not tracker.settle(b, True)
    assert tracker.committed == 0
    assert tracker.settle(a, True)
    assert tracker.committed == 30
    d, e = tracker.add(30, 40, b"d"), tracker.add(40, 50, b"e")
    tracker.settle(d, False)
    tracker.settle(e, True)
    # A range an output gave up on stops the checkpoint for this run.
    assert tracker.committed == 30 and tracker.blocked
