"""The filters of a pipeline: which of them a tag reaches, and one pass over a chunk.

A filter that raises lets the chunk's records pass unchanged (counted under ``errors``);
records a filter adds or drops are counted under ``add_records`` / ``drop_records``. What
filters emit during a pass (:mod:`logtide.agent.engine.emitter`) is handed back to the
engine, which puts it through the pipeline from its start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from logtide.agent.core.events import Chunk
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import FilterPlugin
from logtide.agent.engine.emitter import EmitterHub
from logtide.agent.engine.router import Routes


class FilterChain:
    """Filters in config order, each with its instance name and tag matcher."""

    def __init__(
        self,
        filters: list[tuple[str, Callable[[str], bool], FilterPlugin]],
        metrics: Metrics,
        logger: logging.Logger,
        emitters: EmitterHub,
    ) -> None:
        self.plugins = [(name, plugin) for name, _, plugin in filters]
        self._names = {id(plugin): name for name, _, plugin in filters}
        self._routes: Routes[FilterPlugin] = Routes([(m, plugin) for _, m, plugin in filters])
        self._metrics = metrics
        self._logger = logger
        self._emitters = emitters

    async def start(self) -> None:
        for name, plugin in self.plugins:
            try:
                await plugin.start()
            except Exception as exc:
                self._logger.warning("[filter:%s] warm-up failed, continuing: %s", name, exc)

    async def stop(self) -> None:
        for name, plugin in self.plugins:
            try:
                await plugin.stop()
            except Exception as exc:
                self._logger.error("[filter:%s] failed to put out what it held: %s", name, exc)

    def __call__(self, chunk: Chunk) -> list[Chunk]:
        """Run the filters over ``chunk``; return the chunks they emitted meanwhile (each
        holding a reference on its acknowledgement)."""
        hub = self._emitters
        hub.current = chunk
        try:
            self._pass(chunk)
        finally:
            hub.current = None
        return hub.take()

    def _pass(self, chunk: Chunk) -> None:
        for plugin in self._routes(chunk.tag):
            if not chunk.events:
                return
            before = len(chunk.events)
            try:
                chunk.events = plugin(chunk.tag, chunk.events)
            except Exception as exc:
                name = self._names[id(plugin)]
                self._metrics.add(name, "errors")
                self._logger.error(
                    "[filter:%s] failed on tag %s, records pass unchanged: %s", name, chunk.tag, exc
                )
                continue
            change = len(chunk.events) - before
            if change:
                counter = "add_records" if change > 0 else "drop_records"
                self._metrics.add(self._names[id(plugin)], counter, abs(change))
