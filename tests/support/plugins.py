"""Build plugin instances in tests exactly as the engine does: options table, then context."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from logtide.agent.core.errors import Location
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.options import Entry, Settings, resolve
from logtide.agent.core.plugins import Plugin, PluginContext
from logtide.agent.parsers.multiline import MultilineRegistry
from logtide.agent.parsers.registry import ParserRegistry

P = TypeVar("P", bound=Plugin)
LOCATION = Location("test.conf", 1)


def settings_for(plugin: type[Plugin], **options: Any) -> Settings:
    """Resolve ``options`` (keyword names, values as config strings) against the plugin table.

    Use ``__`` for a dot in the key (``db__sync`` -> ``DB.sync``); pass a list to repeat a key.
    """
    entries = [Entry("Name", plugin.name, LOCATION)]
    for key, value in options.items():
        values = value if isinstance(value, list) else [value]
        entries.extend(Entry(key.replace("__", "."), str(v), LOCATION) for v in values)
    settings = resolve(f"{plugin.kind} '{plugin.name}'", plugin.options, entries, LOCATION)
    plugin.validate(settings)
    return settings


@asynccontextmanager
async def plugin_context(
    instance: str = "test.0",
    *,
    once: bool = True,
    parsers: ParserRegistry | None = None,
    multiline_parsers: MultilineRegistry | None = None,
) -> AsyncIterator[PluginContext]:
    """A context whose spawned tasks live in a task group closed at the end of the block."""
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    context = PluginContext(
        instance=instance,
        spawn=spawn,
        metrics=Metrics(),
        logger=logging.getLogger(f"logtide.{instance}"),
        once=once,
        parsers=parsers,
        multiline_parsers=multiline_parsers,
    )
    try:
        yield context
    finally:
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def build(plugin: type[P], context: PluginContext, **options: Any) -> P:
    return plugin(settings_for(plugin, **options), context)
