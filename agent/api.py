"""The library face of logtide: run a pipeline in-process, push records, read outputs.

::

    pipeline = Pipeline.from_string(CONFIG)
    async with pipeline.running() as p:
        p.push("order", {"state": "CA"})
        await p.drain()
    assert p.output("file.0").records == [{"state": "CA"}]

The same validation and errors as the CLI apply. Every run is a ``--once`` run: inputs are
read to their end, and :meth:`RunningPipeline.drain` ends the pushed input, flushes every
stream window and output, and returns the exit status the CLI would have.

A pipeline that cannot start (an output that cannot be built or started) raises a
:class:`~logtide.agent.core.errors.LogtideError` where it is started; one whose run breaks raises it
from ``drain()`` and from every later ``drain()``, so leaving a ``with`` block never waits on
a pipeline that is gone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import yaml

from logtide.agent.config.loader import load_file, load_string
from logtide.agent.config.validate import PluginSpec
from logtide.agent.core.errors import Location, LogtideError, PluginError
from logtide.agent.core.events import Event, Record
from logtide.agent.core.options import Entry, resolve
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import Plan, build_plan
from logtide.agent.inputs.lib import LibInput

__all__ = ["Capture", "Pipeline", "RunningPipeline"]


class Capture:
    """Everything one output accepted, in delivery order; safe to read from any thread."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self._events: list[tuple[str, float, Record]] = []
        self._changed = threading.Condition()

    def add(self, tag: str, events: list[Event]) -> None:
        with self._changed:
            self._events.extend((tag, ts, record) for ts, record in events)
            self._changed.notify_all()

    @property
    def records(self) -> list[Record]:
        with self._changed:
            return [record for _, _, record in self._events]

    @property
    def events(self) -> list[tuple[str, float, Record]]:
        """``(tag, time, record)`` triples."""
        with self._changed:
            return list(self._events)

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Record]:
        """Wait until at least ``count`` records arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while len(self) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.instance}: {len(self)} of {count} records after {timeout}s"
                )
            await asyncio.sleep(0.01)
        return self.records

    def wait_for_sync(self, count: int, timeout: float = 10.0) -> list[Record]:
        """:meth:`wait_for` for code that is not async (``run_in_thread``)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._events) >= count, timeout):
                raise TimeoutError(
                    f"{self.instance}: {len(self._events)} of {count} records after {timeout}s"
                )
            return [record for _, _, record in self._events]


class Pipeline:
    """A validated configuration, ready to run in-process any number of times."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    @classmethod
    def from_file(cls, path: str) -> Pipeline:
        return cls(_with_lib_input(build_plan(load_file(path))))

    @classmethod
    def from_string(cls, text: str, format: Literal["classic", "yaml"] = "classic") -> Pipeline:
        return cls(_with_lib_input(build_plan(load_string(text, format, name="<string>"))))

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> Pipeline:
        """A dict shaped like the YAML format (``pipeline: {inputs: [...], ...}``)."""
        return cls.from_string(yaml.safe_dump(config, sort_keys=False), "yaml")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RunningPipeline]:
        running = RunningPipeline(self.plan)
        await running.start()
        try:
            yield running
        finally:
            await running.drain()

    @contextmanager
    def run_in_thread(self) -> Iterator[ThreadedPipeline]:
        """Run on an event loop in a background thread, for code that is not async."""
        threaded = ThreadedPipeline(self.plan)
        threaded.start()
        try:
            yield threaded
        finally:
            threaded.drain()


def _with_lib_input(plan: Plan) -> Plan:
    """Add a ``lib`` input when the config has none, so :meth:`push` always has a target."""
    if any(spec.cls is LibInput for spec in plan.inputs):
        return plan
    here = Location("<library>", 0)
    settings = resolve("input 'lib'", LibInput.options, [Entry("Name", "lib", here)], here)
    plan.inputs.append(
        PluginSpec("input", LibInput, settings, "lib.0", LibInput.validate(settings))
    )
    return plan


class RunningPipeline:
    """A pipeline running on the current event loop."""

    def __init__(self, plan: Plan) -> None:
        self.captures = {spec.instance: Capture(spec.instance) for spec in plan.outputs}
        self._names = {spec.instance: spec.instance for spec in plan.outputs}
        for spec in plan.outputs:
            self._names.setdefault(spec.cls.name, spec.instance)
        self.engine = Engine(plan, once=True, on_delivered=self._delivered)
        self._task: asyncio.Task[int] | None = None
        self.exit_code: int | None = None

    def _delivered(self, instance: str, tag: str, events: list[Event]) -> None:
        self.captures[instance].add(tag, events)

    async def start(self) -> None:
        """Build and start every output; raise the error if one cannot start."""
        self.engine.build()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="logtide-pipeline")
        await self.engine.started.wait()
        if self._task.done() or self.engine.start_error is not None:
            await self._task

    async def _run(self) -> int:
        try:
            code = await self.engine.run()
        except LogtideError:
            raise
        except Exception as exc:
            raise PluginError(f"the pipeline stopped: {exc}") from exc
        finally:
            # start() waits on this; an engine that ended before its outputs started must
            # not leave it waiting.
            self.engine.started.set()
        if self.engine.start_error is not None:
            raise self.engine.start_error
        if self.engine.run_error is not None:
            raise self.engine.run_error
        return code

    def _lib(self) -> LibInput:
        return next(plugin for plugin in self.engine.inputs if isinstance(plugin, LibInput))

    def push(self, tag: str, records: Record | list[Record], time: float | None = None) -> None:
        """Send one record or a list through the ``lib`` input under ``tag``."""
        self._lib().push(tag, records, time)

    def output(self, name: str) -> Capture:
        """What the output called ``name`` (instance, alias, or plugin name) accepted."""
        instance = self._names.get(name)
        if instance is None:
            raise KeyError(f"no output named {name!r}; outputs: {', '.join(self.captures)}")
        return self.captures[instance]

    def metrics(self) -> dict[str, dict[str, int]]:
        return self.engine.metrics.snapshot()

    async def drain(self) -> int:
        """End pushed input, deliver everything (stream windows too), stop; the exit status."""
        if self.exit_code is not None:
            return self.exit_code
        for plugin in self.engine.inputs:
            if isinstance(plugin, LibInput):
                plugin.close_input()
        assert self._task is not None
        # A finished task gives the same result, or raises the same error, on every await.
        self.exit_code = await self._task
        return self.exit_code

    def outcome(self) -> int:
        """The exit status of a run that has ended, or its error (from any thread)."""
        if self._task is None or not self._task.done():
            raise LogtideError("the pipeline has not finished")
        return self._task.result()


class ThreadedPipeline:
    """:class:`RunningPipeline` on a private event loop in a background thread."""

    def __init__(self, plan: Plan) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="logtide", daemon=True)
        self._running = RunningPipeline(plan)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._running.start(), self._loop).result()
        except BaseException:
            self._stop_loop()
            raise

    def push(self, tag: str, records: Record | list[Record], time: float | None = None) -> None:
        self._running.push(tag, records, time)

    def output(self, name: str) -> Capture:
        return self._running.output(name)

    def metrics(self) -> dict[str, dict[str, int]]:
        return self._running.metrics()

    def drain(self) -> int:
        if self._stopped:
            # Drained (or failed) before: nothing runs the loop any more, so answer from
            # the finished task instead of submitting work no one will ever pick up.
            return self._running.outcome()
        try:
            return asyncio.run_coroutine_threadsafe(self._running.drain(), self._loop).result()
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()
