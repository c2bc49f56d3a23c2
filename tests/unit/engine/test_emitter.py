"""The filters' emitter: emitted records re-enter the pipeline from its start, hold their
parent's acknowledgement, and a chain of emissions is cut after MAX_HOPS."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.config.validate import filter_spec
from logtide.agent.core.emitter import (
    FILTER_WITH_EMITTER_OPTIONS,
    MAX_HOPS,
    EmitterFilterSettings,
)
from logtide.agent.core.events import Ack, Chunk, Event, Origin
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import REGISTRY, FilterPlugin, OutputPlugin
from logtide.agent.engine.emitter import EmitterHub
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan


@dataclass(frozen=True, slots=True, kw_only=True)
class EchoSettings(EmitterFilterSettings):
    to: str
    keep: bool


class EchoFilter(FilterPlugin[EchoSettings]):
    """Emits every record again under ``To`` (a test's rewrite_tag)."""

    name: ClassVar[str] = "test_echo"
    options = (
        *FILTER_WITH_EMITTER_OPTIONS,
        Option("To", "str", "echoed"),
        Option("Keep", "bool", True),
    )

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        emitter = self.context.emitter
        assert emitter is not None
        emitter.emit(self.config.to, [(ts, dict(record, hop=tag)) for ts, record in events])
        return events if self.config.keep else []


class Held(OutputPlugin):
    """Takes batches; each one's flush waits until the test releases it."""

    name: ClassVar[str] = "test_held"
    durable_on_accept: ClassVar[bool] = True
    batches: ClassVar[list[tuple[str, list[Event]]]] = []
    gate: ClassVar[asyncio.Event]

    async def flush(self, tag: str, events: list[Event]) -> None:
        await Held.gate.wait()
        Held.batches.append((tag, events))


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    REGISTRY["filter"]["test_echo"] = f"{__name__}:EchoFilter"
    REGISTRY["output"]["test_held"] = f"{__name__}:Held"
    Held.batches = []
    Held.gate = asyncio.Event()
    yield
    del REGISTRY["filter"]["test_echo"], REGISTRY["output"]["test_held"]


def engine(filters: str, match: str = "*") -> Engine:
    text = f"""
[INPUT]
    Name  dummy
{filters}
[OUTPUT]
    Name   test_held
    Match  {match}
"""
    return Engine(build_plan(load_string(text)), once=True)


ECHO = """
[FILTER]
    Name   test_echo
    Match  app
    To     echoed
    Keep   {keep}
"""


async def run_one(e: Engine, tag: str, records: list[dict[str, object]]) -> list[bool]:
    """Ingest one chunk under ``tag`` with the outputs running; the ack's result(s)."""
    fired: list[bool] = []
    e.build()
    for runner in e._runners:
        e.tasks.spawn(runner.run(), runner.instance)
    ack = Ack(fired.append)
    await e.ingest(Chunk(tag, [(1.0, r) for r in records], ack, "in", 0))
    return fired


async def test_emitted_records_pass_every_filter_and_hold_the_parents_ack() -> None:
    tagger = """
[FILTER]
    Name   modify
    Match  echoed
    Add    seen yes
"""
    e = engine(ECHO.format(keep="true") + tagger)
    fired = await run_one(e, "app", [{"a": 1}])
    await asyncio.sleep(0.05)
    assert fired == [], "the ack fired before any output had the records"
    Held.gate.set()
    for runner in e._runners:
        runner.flush_now()
        await asyncio.wait_for(runner.settled(), 10)
    assert fired == [True]
    assert sorted((tag, ev[0][1]) for tag, ev in Held.batches) == [
        ("app", {"a": 1}),
        ("echoed", {"a": 1, "hop": "app", "seen": "yes"}),
    ]
    assert e.metrics.get("emitter_for_test_echo.0", "records") == 1
    await e.tasks.close()


async def test_parent_ack_waits_for_the_emitted_copy_alone_when_keep_is_false() -> None:
    e = engine(ECHO.format(keep="false"))
    fired = await run_one(e, "app", [{"a": 1}, {"a": 2}])
    assert fired == []
    Held.gate.set()
    for runner in e._runners:
        runner.flush_now()
        await asyncio.wait_for(runner.settled(), 10)
    assert fired == [True]
    assert [(tag, len(ev)) for tag, ev in Held.batches] == [("echoed", 2)]
    await e.tasks.close()


async def test_a_rule_that_matches_its_own_output_is_cut_after_max_hops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = """
[FILTER]
    Name   test_echo
    Match  *
    To     again
    Keep   true
"""
    e = engine(loop)
    Held.gate.set()
    with caplog.at_level(logging.ERROR, "logtide"):
        fired = await run_one(e, "start", [{"a": 1}])
        for runner in e._runners:
            runner.flush_now()
            await asyncio.wait_for(runner.settled(), 10)
    assert fired == [True]
    # the original plus one copy per allowed hop; the next one is dropped
    assert sum(len(events) for _, events in Held.batches) == 1 + MAX_HOPS
    assert e.metrics.get("emitter_for_test_echo.0", "loop_dropped_records") == 1
    errors = [r.getMessage() for r in caplog.records if "re-emitted more than" in r.getMessage()]
    assert len(errors) == 1
    await e.tasks.close()


async def test_emitted_chunk_keeps_the_parents_origin_under_its_own_mark() -> None:
    ingested: list[tuple[Chunk, int]] = []

    async def ingest(chunk: Chunk, hops: int) -> None:
        ingested.append((chunk, hops))
        chunk.ack.settle(True)

    hub = EmitterHub(ingest, Metrics(), logging.getLogger("test"))
    settings = _settings("Emitter_Name re", "To x")
    emitter = hub.emitter_for("f.0", settings)
    assert emitter is not None and emitter.name == "re"
    fired: list[bool] = []
    parent = Chunk("app", [(1.0, {"a": 1})], Ack(fired.append), "tail.0", 0, Origin("s", 0, 10))
    hub.current = parent
    emitter.emit("x", [(1.0, {"a": 1})])
    emitter.emit("x", [(2.0, {"a": 2})])
    emitter.emit("y", [(3.0, {"a": 3})])
    assert emitter.own is False
    hub.current = None
    chunks = hub.take()
    assert [(c.tag, len(c.events), c.source, c.origin) for c in chunks] == [
        ("x", 2, "re", Origin("s", 0, 10)),
        ("y", 1, "re", Origin("s", 0, 10)),
    ]
    assert chunks[0].mark == "s|re|x"
    parent.ack.settle(True)
    assert fired == [], "the emitted chunks still hold the parent"
    await hub.enter(chunks, 1)
    assert fired == [True]
    hub.current = chunks[0]
    assert emitter.own is True


def test_a_joined_chunk_continues_the_stream_it_was_joined_from() -> None:
    async def ingest(chunk: Chunk, hops: int) -> None:
        chunk.ack.settle(True)

    hub = EmitterHub(ingest, Metrics(), logging.getLogger("test"))
    emitter = hub.emitter_for("ml.0", _settings("Emitter_Name ml"))
    assert emitter is not None
    parent = Chunk("app", [(1.0, {"a": 1})], Ack(), "tail.0", 0, Origin("s", 40, 90))
    hub.current = parent
    assert emitter.origin == ("tail.0", Origin("s", 40, 90))
    # joined from lines of an earlier chunk (from offset 10) and of this one
    emitter.emit("app", [(1.0, {"a": 1})], Ack(), start=10)
    hub.current = None
    (joined,) = hub.take()
    assert (joined.source, joined.origin, joined.continues) == ("ml", Origin("s", 10, 90), "tail.0")
    assert joined.mark == parent.mark == "s|tail.0|app"
    # a joined chunk joined again (a second multiline filter) stays in the same stream
    hub.current = joined
    assert emitter.origin == ("tail.0", Origin("s", 10, 90))
    emitter.emit("app", [(1.0, {"a": 1})], Ack(), start=10)
    # without start, records held from earlier chunks carry no range
    emitter.emit("app", [(2.0, {"a": 2})], Ack())
    hub.current = None
    again, plain = hub.take()
    assert again.mark == "s|tail.0|app"
    assert (plain.origin, plain.mark) == (None, None)
    # a chunk without a range gives its joined records none
    hub.current = Chunk("app", [(1.0, {"a": 1})], Ack(), "dummy.0")
    assert emitter.origin is None
    emitter.emit("app", [(1.0, {"a": 1})], Ack(), start=0)
    hub.current = None
    assert [c.origin for c in hub.take()] == [None]


async def test_send_outside_a_filter_call_waits_for_room_and_holds_the_ack() -> None:
    release = asyncio.Event()
    entered: list[str] = []

    async def ingest(chunk: Chunk, hops: int) -> None:
        entered.append(chunk.tag)
        await release.wait()
        chunk.ack.settle(True)

    hub = EmitterHub(ingest, Metrics(), logging.getLogger("test"))
    emitter = hub.emitter_for("f.0", _settings("Emitter_Mem_Buf_Limit 10"))
    assert emitter is not None
    with pytest.raises(RuntimeError):
        emitter.emit("x", [(1.0, {"a": 1})])
    fired: list[bool] = []
    ack = Ack(fired.append)
    first = asyncio.ensure_future(emitter.send("one", [(1.0, {"a": "x" * 20})], ack))
    second = asyncio.ensure_future(emitter.send("two", [(1.0, {"a": 1})], ack))
    await asyncio.sleep(0.05)
    assert entered == ["one"], "the second send must wait while the limit is held"
    ack.settle(True)
    release.set()
    await asyncio.gather(first, second)
    assert entered == ["one", "two"]
    assert fired == [True]


def _settings(*lines: str) -> object:
    text = "[FILTER]\n    Name test_echo\n    Match *\n" + "".join(f"    {x}\n" for x in lines)
    return filter_spec(load_string(text).filters[0], Counter()).config


@pytest.mark.parametrize("tag", ["other", "app"])  # a plain chunk blocks, or a copy
async def test_a_chunk_cancelled_while_waiting_for_room_is_not_acknowledged(
    monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    # SIGTERM cancels an input blocked on a full output: its chunk (and the copies it
    # emitted) reached no output, so the acknowledgement must not report it delivered.
    from logtide.agent.engine import output_runner

    monkeypatch.setattr(output_runner, "QUEUE_EVENTS", 1)
    e = engine(ECHO.format(keep="false"))
    # fills the queue (no filter takes the tag); its flush waits on the gate
    first = await run_one(e, "other", [{"a": 1}])
    fired: list[bool] = []
    blocked = asyncio.ensure_future(
        e.ingest(Chunk(tag, [(1.0, {"a": 2})], Ack(fired.append), "in", 0))
    )
    await asyncio.sleep(0.1)
    assert not blocked.done()
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    assert fired == [False]
    assert first == []
    await e.tasks.close()
