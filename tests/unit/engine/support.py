"""An output runner as the engine builds one, with test-sized timings."""

from __future__ import annotations

import logging

from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.retry import Backoff
from logtide.agent.engine.disk_queue import DiskQueue
from logtide.agent.engine.output_runner import OutputRunner

FAST = Backoff(0.001, 0.002)


def make_runner(
    plugin: OutputPlugin,
    instance: str,
    *,
    retry_limit: int | None = None,
    backoff: Backoff = FAST,
    disk: DiskQueue | None = None,
) -> OutputRunner:
    return OutputRunner(
        instance,
        plugin,
        flush_interval=0.0,
        retry_limit=retry_limit,
        backoff=backoff,
        metrics=Metrics(),
        logger=logging.getLogger("test"),
        once=True,
        disk=disk,
    )
