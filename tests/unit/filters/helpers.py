"""Run a filter plugin built from its real option table over plain records."""

from __future__ import annotations

from typing import Any

from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.parsers.registry import ParserRegistry
from tests.support.plugins import build


def context(parsers: ParserRegistry | None = None) -> PluginContext:
    import logging

    return PluginContext(
        instance="filter.0",
        spawn=lambda coro, name: None,
        metrics=Metrics(),
        logger=logging.getLogger("test"),
        parsers=parsers,
    )


def make(plugin: type[FilterPlugin], parsers: ParserRegistry | None = None, **options: Any):
    return build(plugin, context(parsers), **options)


def run(filt: FilterPlugin, *records: dict[str, Any], ts: float = 1.0) -> list[dict[str, Any]]:
    return [record for _, record in filt("tag", [(ts, dict(r)) for r in records])]
