"""After a restart: put again exactly what of the journal's open batches is not in CloudWatch.

A journaled batch may have been put before the crash or not (PutLogEvents is all-or-nothing
for the events it accepts). :func:`missing_events` reads the stream over the batch's time
span with GetLogEvents and returns the events not found there (as a multiset of timestamp
and message); only those are put again. The same check settles a put whose answer was lost
(a read time-out or a dropped connection) before it is retried.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import ClientError

from logtide.agent.core.reclaim import forget_tracebacks
from logtide.agent.core.retry import Backoff, Retry
from logtide.sinks.aws.retry import call_with_auto_retry, describe, error_code
from logtide.sinks.cloudwatch_logs.journal import BatchRef, Journal, OpenBatch, Sent, StreamKey
from logtide.sinks.cloudwatch_logs.streams import NOT_FOUND

# GetLogEvents may lag a fresh PutLogEvents by a moment: a batch is checked no sooner than
# this long after it was journaled, so a quick restart does not miss what just landed.
SETTLE_SECONDS = 5.0
# Pages of GetLogEvents read over one batch's time span before giving up the search (a
# span shared with this many other events is beyond what one agent's batches produce).
MAX_PAGES = 100

Put = Callable[[StreamKey, list[Sent]], Awaitable[None]]
Count = Callable[[str, int], None]
Done = Callable[[BatchRef], Awaitable[None]]


async def missing_events(
    client: Any, key: StreamKey, events: list[Sent], auto_retry: bool
) -> list[Sent]:
    """The events of ``events`` that the stream does not hold, in their order."""
    wanted = Counter(events)
    if not wanted:
        return []
    group, stream = key
    params: dict[str, Any] = {
        "logGroupName": group,
        "logStreamName": stream,
        "startTime": min(t for t, _ in events),
        # endTime is exclusive.
        "endTime": max(t for t, _ in events) + 1,
        "startFromHead": True,
    }
    token = None
    for _ in range(MAX_PAGES):
        if token is not None:
            params["nextToken"] = token

        async def call() -> Any:
            return await client.get_log_events(**params)

        try:
            page = await call_with_auto_retry(call, auto_retry)
        except ClientError as exc:
            if error_code(exc) == NOT_FOUND:
                break  # no group or stream: nothing landed
            raise
        for item in page.get("events", ()):
            found = (item.get("timestamp"), item.get("message"))
            if wanted.get(found):
                wanted[found] -= 1
                if not wanted[found]:
                    del wanted[found]
                    if not wanted:
                        return []
        next_token = page.get("nextForwardToken")
        # The end is the token coming back unchanged: CloudWatch may answer a page with no
        # events and a new token while there are more.
        if next_token is None or next_token == token:
            break
        token = next_token
    missing: list[Sent] = []
    for event in events:
        if wanted.get(event):
            wanted[event] -= 1
            missing.append(event)
    return missing


class Recovery:
    """Settles the open batches a restart found in the journal, one after the other."""

    def __init__(
        self,
        client: Any,
        journal: Journal,
        done: Done,
        put: Put,
        *,
        auto_retry: bool,
        logger: logging.Logger,
        count: Count,
    ) -> None:
        self.client = client
        self.journal = journal
        self.mark_done = done
        self.put = put
        self.auto_retry = auto_retry
        self.logger = logger
        self.count = count
        self.retry = Retry(Backoff(base=1.0, cap=30.0).delay)
        self.done = asyncio.Event()

    def _retrying(self, batch: OpenBatch, exc: Exception, attempt: int, delay: float) -> None:
        self.logger.warning(
            "cloudwatch_logs: recovery of %s/%s failed (%s); retry in %.1fs",
            *batch.key,
            describe(exc),
            delay,
        )

    def _giving_up(self, batch: OpenBatch, exc: Exception, attempt: int, transient: bool) -> None:
        self.logger.error(
            "cloudwatch_logs: %d journaled event(s) for %s/%s not delivered: %s",
            len(batch.events),
            *batch.key,
            describe(exc),
        )
        self.count("recovery_dropped_events", len(batch.events))

    async def run(self, batches: list[OpenBatch]) -> None:
        try:
            for batch in sorted(batches, key=lambda b: b.ref):
                await self._settle(batch)
        finally:
            self.done.set()

    async def _settle(self, batch: OpenBatch) -> None:
        wait = batch.recorded_ms / 1000 + SETTLE_SECONDS - time.time()
        if wait > 0:
            await asyncio.sleep(wait)

        async def check() -> list[Sent] | None:
            if not self.journal.is_open(batch.ref):
                return None  # closed meanwhile (a retry's flush took its events over)
            missing = await missing_events(self.client, batch.key, batch.events, self.auto_retry)
            if missing:
                await self.put(batch.key, missing)
            return missing

        try:
            missing = await self.retry.run(
                check,
                on_retry=functools.partial(self._retrying, batch),
                on_give_up=functools.partial(self._giving_up, batch),
            )
        except Exception as exc:
            forget_tracebacks(exc)
            await self.mark_done(batch.ref)
            return
        if missing is None:
            return
        await self.mark_done(batch.ref)
        self.count("recovered_landed_events", len(batch.events) - len(missing))
        self.count("recovered_resent_events", len(missing))
        self.logger.info(
            "cloudwatch_logs: journaled batch for %s/%s: %d event(s) already there, %d put again",
            *batch.key,
            len(batch.events) - len(missing),
            len(missing),
        )
