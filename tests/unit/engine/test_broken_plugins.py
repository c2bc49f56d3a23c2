"""An input that ends with an error stops a daemon run with exit code 1, after delivering
what it had read; under ``--once`` the other inputs still read to their end. An output
runner that fails stops the run either way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import PluginError
from logtide.agent.core.events import Chunk, Event
from logtide.agent.core.plugins import REGISTRY, Emit, InputPlugin, OutputPlugin
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.output_runner import OutputRunner
from logtide.agent.engine.plan import build_plan
from logtide.streamsql.processor import StreamProcessor


class Breaks(InputPlugin[InputSettings]):
    """Emits three records, then fails as an input whose DB cannot be opened does."""

    name = "test_breaks"
    options = COMMON_INPUT_OPTIONS

    async def run(self, emit: Emit) -> None:
        await emit(Chunk("broken", [(1.0, {"n": n}) for n in range(3)]))
        raise PluginError("cannot open DB /nowhere/tail.db")


class Kept(OutputPlugin):
    name = "test_kept"
    records: ClassVar[list[dict[str, object]]]

    async def flush(self, tag: str, events: list[Event]) -> None:
        Kept.records.extend(record for _, record in events)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    REGISTRY["input"]["test_breaks"] = f"{__name__}:Breaks"
    REGISTRY["output"]["test_kept"] = f"{__name__}:Kept"
    Kept.records = []
    yield
    del REGISTRY["input"]["test_breaks"]
    del REGISTRY["output"]["test_kept"]


async def _exit_code_and_errors(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> tuple[int, list[str]]:
    """The run's exit code and the error lines it logged."""
    with caplog.at_level(logging.ERROR, logger="logtide"):
        code = await asyncio.wait_for(engine.run(), 10)
    return code, [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _stopping(kind: str, instance: str) -> str:
    """The engine's line when ``kind`` ``instance`` broke and the agent stops for it."""
    return (
        f"[engine] {kind} {instance} stopped; stopping the agent (exit code 1) rather than "
        "running on without it"
    )


CONFIG = """
[SERVICE]
    Flush 0.1
    Grace 5
[INPUT]
    Name  test_breaks
[INPUT]
    Name     dummy
    Tag      beside
    Rate     20
    Samples  {samples}
[OUTPUT]
    Name  test_kept
    Match *
"""


async def test_a_broken_input_stops_the_daemon_with_exit_1_after_delivering_its_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(build_plan(load_string(CONFIG.format(samples=0))), once=False)
    code, errors = await _exit_code_and_errors(engine, caplog)
    assert code == 1
    assert [r for r in Kept.records if "n" in r] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert errors == [
        "[input:test_breaks.0] cannot open DB /nowhere/tail.db",
        _stopping("input", "test_breaks.0"),
    ]


async def test_under_once_the_other_inputs_still_read_to_their_end() -> None:
    engine = Engine(build_plan(load_string(CONFIG.format(samples=5))), once=True)
    code = await asyncio.wait_for(engine.run(), 10)
    assert code == 1
    assert sum(1 for r in Kept.records if "n" in r) == 3
    assert sum(1 for r in Kept.records if "message" in r) == 5


DUMMY_ONLY = """
[SERVICE]
    Flush 0.1
    Grace 1
[INPUT]
    Name     dummy
    Rate     20
    Samples  {samples}
[OUTPUT]
    Name  test_kept
    Match *
"""


@pytest.mark.parametrize("once", [False, True], ids=["daemon", "once"])
async def test_an_output_runner_that_fails_stops_the_run_with_exit_1(
    once: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Its records would otherwise wait for ever: a daemon kept running "healthy" (nothing
    counts an error), and ``--once`` waited for a drain that could not end."""

    async def broken(self: OutputRunner) -> None:
        await asyncio.sleep(0.2)
        raise RuntimeError("a fault of the runner's own")

    monkeypatch.setattr(OutputRunner, "run", broken)
    plan = build_plan(load_string(DUMMY_ONLY.format(samples=5 if once else 0)))
    engine = Engine(plan, once=once)
    code, errors = await _exit_code_and_errors(engine, caplog)
    assert code == 1
    assert errors == [
        "[output:test_kept.0] stopped: a fault of the runner's own",
        _stopping("output", "test_kept.0"),
    ]


WINDOWED = """
[SERVICE]
    Flush 0.1
    Grace 1
[INPUT]
    Name     dummy
    Tag      order
    Rate     20
[STREAM_TASK]
    Name  per_second
    Exec  CREATE STREAM counts AS SELECT COUNT(*) FROM TAG:'order' WINDOW TUMBLING (1 SECOND);
[OUTPUT]
    Name  test_kept
    Match *
"""


async def test_stream_windows_that_fail_stop_the_daemon_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Windows that no longer close hold the acknowledgements of the records in them: the
    checkpoints would stop, then the inputs, while the agent looked healthy."""

    def broken(self: StreamProcessor, now: float) -> list[Chunk]:
        raise RuntimeError("a fault of the window's own")

    monkeypatch.setattr(StreamProcessor, "tick", broken)
    engine = Engine(build_plan(load_string(WINDOWED)), once=False)
    code, errors = await _exit_code_and_errors(engine, caplog)
    assert code == 1
    assert errors == [
        "[stream:windows] stopped: a fault of the window's own",
        _stopping("stream", "windows"),
    ]
