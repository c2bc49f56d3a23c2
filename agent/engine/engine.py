"""The engine: builds plugins from a plan (:mod:`logtide.agent.engine.plan`) and runs them on one
asyncio loop.

Data path (all inside the emitting input's task, so backpressure reaches the input)::

    input.emit(chunk) -> filters -> stream processor -> router -> OutputRunner queues
                            |
                            +-> records a filter emitted (rewrite_tag) -> filters -> ...

Records a filter emits during a chunk's pass (:mod:`logtide.agent.engine.emitter`) enter
the pipeline from its start once that chunk is routed, holding its acknowledgement.

Lifecycle: outputs start, runners start, inputs run. ``--once`` waits for every input to
reach the end; otherwise, and under ``--once`` too, :meth:`request_stop` (SIGTERM/SIGINT)
ends them (or the outputs' start, which may wait for another agent's lock). A daemon run
with ``ends_run`` inputs (tail's Exit_On_Eof) ends as ``--once`` does when the last of them
has read everything: the other inputs stop, delivery is not time-bound. An input that ends
with an error stops a daemon run as a stop request does, and so does an output runner that
fails, under ``--once`` too; the exit code is then 1. Then windows are flushed, queues
drained, outputs stopped, inputs closed, and every remaining task cancelled and awaited.
Draining and stopping take at most ``Grace`` seconds from the stop request; ``--once``
without one waits as long as outputs retry. Undelivered chunks are never acknowledged, so
their checkpoints stay behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from logtide.agent.config.validate import PluginSpec
from logtide.agent.core.common_options import InputSettings
from logtide.agent.core.errors import LogtideError, PluginError, as_plugin_error
from logtide.agent.core.events import Chunk
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import FilterPlugin, InputPlugin, OutputPlugin, PluginContext
from logtide.agent.core.retry import Backoff
from logtide.agent.core.serialize import json_lines_size
from logtide.agent.core.tags import matcher
from logtide.agent.engine.disk_queue import DiskQueue
from logtide.agent.engine.emitter import EmitterHub
from logtide.agent.engine.filter_chain import FilterChain
from logtide.agent.engine.output_runner import DeliveryTap, OutputRunner
from logtide.agent.engine.plan import Plan, cut_points, plugin_context
from logtide.agent.engine.router import Routes
from logtide.agent.engine.tasks import TaskOwner

log = logging.getLogger("logtide")

# Seconds an output's stop() may take even when the Grace period is spent by the drain.
STOP_MINIMUM = 1.0


@dataclass(slots=True)
class _Input:
    spec: PluginSpec[InputSettings]
    plugin: InputPlugin[Any]
    tag: str
    routable: bool


class Engine:
    """One running pipeline."""

    def __init__(
        self,
        plan: Plan,
        *,
        once: bool = False,
        metrics: Metrics | None = None,
        on_delivered: DeliveryTap | None = None,
    ) -> None:
        self.plan = plan
        self.once = once
        self.on_delivered = on_delivered
        self._built = False
        self.metrics = metrics or Metrics()
        self.started_at = time.time()
        self.tasks = TaskOwner(log)
        self._stop = asyncio.Event()
        self._stopped_at: float | None = None
        self._stop_scopes: dict[asyncio.Timeout, tuple[float, float]] = {}
        # Set once every output has started, or failed to (then ``start_error`` says why):
        # the library waits on it so a pipeline that cannot start fails where it is started.
        self.started = asyncio.Event()
        self.start_error: LogtideError | None = None
        # The first input that broke while running: the library raises it from drain().
        self.run_error: LogtideError | None = None
        self._failed = False
        # An input or an output runner broke, which stops the run with exit code 1.
        self._broken = False
        # Exit_On_Eof inputs still running; the last one to end stops a daemon run.
        self._ending = 0
        self._ended_by_inputs = False
        self._inputs: list[_Input] = []
        self._runners: list[OutputRunner] = []
        self._routes: Routes[OutputRunner] = Routes([])
        self.processor = plan.stream_processor
        # Shared by every plugin's context; filled once the outputs have started.
        self._cut_points: dict[str, list[int]] = {}
        self._emitters = EmitterHub(self._ingest_emitted, self.metrics, log)
        self._filters = FilterChain([], self.metrics, log, self._emitters)

    @property
    def grace(self) -> float:
        return self.plan.service.grace

    def request_stop(self) -> None:
        """End the run (SIGTERM/SIGINT, a reload): inputs stop now, and what is still being
        delivered or closed gets ``Grace`` seconds from now, ``--once`` included."""
        if self._stopped_at is None:
            self._stopped_at = asyncio.get_running_loop().time()
            for scope, (after, floor) in self._stop_scopes.items():
                scope.reschedule(max(self._stopped_at + after, floor))
        self._stop.set()

    @contextlib.asynccontextmanager
    async def _until_stop(self, after: float, at_least: float = 0.0) -> AsyncIterator[None]:
        """Bound the block to ``after`` seconds past the stop request (``TimeoutError`` then),
        but give it ``at_least`` seconds from now. Before any stop request the block is
        unbounded under ``--once`` (it runs to its end, outputs retrying as Retry_Limit
        allows); a later request bounds it from that moment."""
        floor = asyncio.get_running_loop().time() + at_least
        deadline = None if self._stopped_at is None else max(self._stopped_at + after, floor)
        async with asyncio.timeout_at(deadline) as scope:
            self._stop_scopes[scope] = (after, floor)
            try:
                yield
            finally:
                del self._stop_scopes[scope]

    def _construct(self, spec: PluginSpec[Any]) -> Any:
        with as_plugin_error(f"[{spec.kind}:{spec.instance}] cannot be built"):
            return spec.cls(spec.settings, self._context(spec))

    def _context(self, spec: PluginSpec[Any]) -> PluginContext:
        return plugin_context(
            self.plan,
            spec,
            spawn=self.tasks.spawn,
            metrics=self.metrics,
            once=self.once,
            cut_points=self._cut_points,
            emitter=self._emitters.emitter_for(spec.instance, spec.config),
        )

    @property
    def inputs(self) -> list[InputPlugin]:
        return [item.plugin for item in self._inputs]

    def build(self) -> None:
        """Construct every plugin (no I/O yet); :meth:`run` calls it if needed."""
        if self._built:
            return
        self._built = True
        self._build_outputs()
        self._build_filters()
        self._build_inputs()

    def _build_outputs(self) -> None:
        service = self.plan.service
        backoff = Backoff(service.scheduler_base, service.scheduler_cap)
        runners: list[tuple[Any, OutputRunner]] = []
        for spec in self.plan.outputs:
            plugin = self._construct(spec)
            assert isinstance(plugin, OutputPlugin)
            disk = None
            if service.storage_path and not plugin.durable_on_accept:
                disk = DiskQueue(
                    os.path.join(service.storage_path, spec.instance),
                    checksum=service.storage_checksum,
                    backlog_limit=service.storage_backlog_mem_limit,
                )
            runner = OutputRunner(
                spec.instance,
                plugin,
                flush_interval=service.flush,
                retry_limit=spec.config.retries,
                backoff=backoff,
                metrics=self.metrics,
                logger=log,
                once=self.once,
                on_delivered=self.on_delivered,
                disk=disk,
                disk_limit=spec.config.storage_total_limit_size,
            )
            runners.append((matcher(spec.config), runner))
            self._runners.append(runner)
        self._routes = Routes(runners)

    def _build_filters(self) -> None:
        filters: list[tuple[str, Any, FilterPlugin]] = []
        for spec in self.plan.filters:
            plugin = self._construct(spec)
            assert isinstance(plugin, FilterPlugin)
            filters.append((spec.instance, matcher(spec.config), plugin))
        self._filters = FilterChain(filters, self.metrics, log, self._emitters)

    def _build_inputs(self) -> None:
        for spec in self.plan.inputs:
            plugin = self._construct(spec)
            assert isinstance(plugin, InputPlugin)
            tag = spec.config.tag or spec.instance
            self._inputs.append(_Input(spec, plugin, tag, spec.config.routable))

    async def ingest(self, chunk: Chunk, routable: bool = True) -> None:
        """Run one chunk through filters, stream processor and router.

        The caller holds one reference on ``chunk.ack``; it is released here once every
        destination has taken its own. A chunk from a non-routable input still feeds the
        stream processor, as in Fluent Bit; only its own records skip the outputs.
        """
        await self._ingest(chunk, routable, 0)

    async def _ingest(self, chunk: Chunk, routable: bool, hops: int) -> None:
        """:meth:`ingest` of a chunk behind which ``hops`` filters emitted records; what
        filters emit during this chunk's pass follows it in, one hop further."""
        emitted: list[Chunk] = []
        routed = False
        try:
            emitted = self._filters(chunk)
            derived = self.processor.process(chunk) if self.processor is not None else []
            if routable:
                await self._route(chunk)
            routed = True
            await self._route_derived(derived)
            entering, emitted = emitted, []
            await self._emitters.enter(entering, hops + 1)
        finally:
            for left in emitted:  # never entered: their source is not yet delivered
                left.ack.settle(False)
            # Cancelled (a stop) before every output took it: not delivered, and saying so
            # keeps the source's checkpoint behind it.
            chunk.ack.settle(routed)

    async def _ingest_emitted(self, chunk: Chunk, hops: int) -> None:
        await self._ingest(chunk, True, hops)

    async def _route_derived(self, chunks: list[Chunk]) -> None:
        for child in chunks:
            emitted: list[Chunk] = []
            routed = False
            try:
                emitted = self._filters(child)
                await self._route(child)
                routed = True
                entering, emitted = emitted, []
                await self._emitters.enter(entering, 1)
            finally:
                for left in emitted:
                    left.ack.settle(False)
                child.ack.settle(routed)

    async def _route(self, chunk: Chunk) -> None:
        if not chunk.events:
            return
        for runner in self._routes(chunk.tag):
            await runner.put(chunk)

    async def _run_input(self, item: _Input) -> None:
        instance = item.spec.instance

        async def emit(chunk: Chunk) -> None:
            chunk.source = chunk.source or instance
            if not chunk.tag:
                chunk.tag = item.tag
            self.metrics.add(instance, "records", len(chunk.events))
            if not chunk.size:
                chunk.size = json_lines_size(chunk.events)
            self.metrics.add(instance, "bytes", chunk.size)
            await self.ingest(chunk, item.routable)

        try:
            await item.plugin.run(emit)
        except Exception as exc:  # a stop's CancelledError is not an Exception
            self._broke("input", instance, exc)
        if item.plugin.ends_run and not self.once:
            self._ending -= 1
            if self._ending == 0:
                log.info("[engine] every Exit_On_Eof input read its files to the end; exiting")
                self._ended_by_inputs = True
                # not request_stop(): no Grace bound, delivery runs to its end as under --once
                self._stop.set()

    async def _run_output(self, runner: OutputRunner) -> None:
        try:
            await runner.run()
        except Exception as exc:  # a runner handles its plugin's failures: this is its own
            self._broke("output", runner.instance, exc)

    def _broke(self, kind: str, instance: str, exc: Exception) -> None:
        """An input, an output runner or the stream windows' task ended with ``exc``: one
        error line (a traceback if it is no LogtideError); the run stops (exit 1, what was
        read delivered within Grace). Run on, a daemon would look healthy while the logs
        went unread until rotated away.
        ``--once`` lets the other inputs read to their end after an input broke."""
        where = f"[{kind}:{instance}]"
        if isinstance(exc, LogtideError):
            log.error("%s %s", where, exc)
            self.run_error = self.run_error or PluginError(f"{where} {exc}")
        else:
            log.error("%s stopped: %s", where, exc, exc_info=exc)
            self.run_error = self.run_error or PluginError(f"{where} stopped: {exc}")
        self._failed = True
        if self._stopped_at is not None or (self.once and kind == "input"):
            return
        log.error(
            "[engine] %s %s stopped; stopping the agent (exit code 1) rather than "
            "running on without it",
            kind,
            instance,
        )
        self._broken = True
        self.request_stop()

    async def _tick_windows(self) -> None:
        assert self.processor is not None
        try:
            while True:
                deadline = self.processor.next_deadline()
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.time()))
                await asyncio.sleep(wait)
                await self._route_derived(self.processor.tick(time.time()))
        except Exception as exc:  # windows no longer close: their records' acks never settle
            self._broke("stream", "windows", exc)

    async def run(self) -> int:
        """Run until the inputs end (``--once``) or a stop is requested; return the exit code."""
        self.build()
        try:
            async with self._until_stop(0.0):
                for runner in self._runners:
                    with as_plugin_error(f"[output:{runner.instance}] cannot start"):
                        await runner.plugin.start()
                        await runner.recall()
            self._cut_points.update(
                cut_points(
                    held for runner in self._runners for held in (runner.watermarks, runner.queued)
                )
            )
        except (TimeoutError, LogtideError) as exc:
            # TimeoutError: a stop while an output waited for another agent's lock to start.
            if isinstance(exc, LogtideError):
                self.start_error = exc
                log.error("%s", exc)
            await self._shutdown_outputs()
            self.started.set()
            return 1 if self.start_error is not None or (self.once and self._failed) else 0
        self.started.set()
        await self._filters.start()
        for runner in self._runners:
            self.tasks.spawn(self._run_output(runner), f"output:{runner.instance}")
        if self.processor is not None:
            self.tasks.spawn(self._tick_windows(), "stream-windows")
        self._ending = sum(1 for item in self._inputs if item.plugin.ends_run)
        input_tasks = [
            self.tasks.spawn(self._run_input(item), f"input:{item.spec.instance}")
            for item in self._inputs
        ]
        if self.once:
            # --once ends when the inputs reach their end, or earlier on SIGTERM/SIGINT
            with contextlib.suppress(TimeoutError):
                async with self._until_stop(0.0):
                    if input_tasks:
                        await asyncio.wait(input_tasks)
        else:
            await self._stop.wait()
        if self._stop.is_set():
            for task in input_tasks:
                task.cancel()
            if input_tasks:
                await asyncio.wait(input_tasks)
        # Records filters hold (an open multiline record) go in before windows and outputs.
        await self._filters.stop()
        if self.processor is not None:
            await self._route_derived(self.processor.flush())
        drained = await self._drain()
        await self._shutdown_outputs()
        for item in self._inputs:
            await item.plugin.close()
        await self.tasks.close()
        failed = self._failed or any(r.failed_batches for r in self._runners) or not drained
        return 1 if ((self.once or self._ended_by_inputs) and failed) or self._broken else 0

    async def _drain(self) -> bool:
        for runner in self._runners:
            runner.flush_now()
        joins = [runner.settled() for runner in self._runners]
        if not joins:
            return True
        try:
            async with self._until_stop(self.grace):
                await asyncio.gather(*joins)
        except TimeoutError:
            log.warning(
                "grace period of %.0fs ended with records still queued; "
                "they are re-read on the next start",
                self.grace,
            )
            return False
        return True

    async def _shutdown_outputs(self) -> None:
        for runner in self._runners:
            try:
                async with self._until_stop(self.grace, at_least=STOP_MINIMUM):
                    await runner.plugin.stop()
            except TimeoutError:
                # what it holds (s3 store_dir) goes out on the next start; --once exits 1
                self._failed = True
                log.warning("[output:%s] did not finish within the grace period", runner.instance)
            except LogtideError as exc:
                self._failed = True
                log.error("[output:%s] %s", runner.instance, exc)
