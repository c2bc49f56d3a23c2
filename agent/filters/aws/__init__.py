"""The ``aws`` filter: adds EC2 instance metadata (az, instance id, ... and instance tags)
from the instance metadata service (IMDS) to every record, as Fluent Bit's filter_aws does.

The values are fetched once and kept. Fetching never happens in the filter call: ``start()``
runs the first round in a background task (waiting for it a short while, so that on a
healthy instance the first records already carry the fields), and a record that arrives
while fields are still missing schedules the next round once ``retry_interval_s`` has passed
since the last. Records go on with the fields already known; one warning, repeated only when
what is missing changes or every few minutes, names the fields missing and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import ClassVar

from logtide.agent.core.events import Event
from logtide.agent.core.options import Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.aws.imds import ImdsClient, ImdsError
from logtide.agent.filters.aws.metadata import InstanceMetadata
from logtide.agent.filters.aws.options import AWS_OPTIONS, AwsSettings

__all__ = ["AwsFilter"]

#: How long ``start()`` waits for the first round before records start flowing.
WARM_UP_SECONDS = 2.0
#: The same "fields missing" warning is repeated at most this often.
WARN_EVERY_SECONDS = 300.0


class AwsFilter(FilterPlugin[AwsSettings]):
    name: ClassVar[str] = "aws"
    description: ClassVar[str] = "Add EC2 instance metadata (IMDS) to records."
    options = AWS_OPTIONS

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        s = self.config
        self._label = context.instance
        self.metadata = InstanceMetadata(s, context.logger, self._label)
        self.client = ImdsClient(s.imds_endpoint, s.imds_version)
        self._retry_interval = float(s.retry_interval_s)
        self._clock = time.monotonic
        self._additions: dict[str, str] = {}
        self._pending = bool(self.metadata.missing())
        self._inflight = False
        self._next_round = float("-inf")
        self._round_done = asyncio.Event()
        self._warned: tuple[tuple[str, ...], float] | None = None
        self.rounds = 0

    async def start(self) -> None:
        if not self._pending:
            return
        self._start_round()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WARM_UP_SECONDS):
                await self._round_done.wait()

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        if self._pending and not self._inflight and self._clock() >= self._next_round:
            self._start_round()
        additions = self._additions
        if additions:
            for _, record in events:
                record.update(additions)
        return events

    def _start_round(self) -> None:
        self._inflight = True
        self._next_round = self._clock() + self._retry_interval
        self._round_done.clear()
        self.rounds += 1
        self.context.spawn(self._round(), f"{self._label}-imds")

    async def _round(self) -> None:
        failure: ImdsError | None = None
        try:
            failure = await self.metadata.fetch_missing(self.client)
        finally:
            self._additions = self.metadata.additions()
            self._pending = bool(self.metadata.missing())
            self._inflight = False
            self._round_done.set()
        self._report(failure)

    def _report(self, failure: ImdsError | None) -> None:
        missing = tuple(self.metadata.missing())
        logger = self.context.logger
        if not missing:
            if self._warned is not None:
                logger.info(
                    "%s: IMDS answered; records now carry every field asked for", self._label
                )
                self._warned = None
            return
        self.context.metrics.add(self._label, "imds_failures")
        now = self._clock()
        if self._warned is not None:
            warned_missing, warned_at = self._warned
            if warned_missing == missing and now - warned_at < WARN_EVERY_SECONDS:
                return
        self._warned = (missing, now)
        logger.warning(
            "%s: instance metadata from %s incomplete (%s); records go on without %s; "
            "asked again after %gs",
            self._label,
            self.client.endpoint,
            failure if failure is not None else "no answer",
            ", ".join(missing),
            self._retry_interval,
        )
