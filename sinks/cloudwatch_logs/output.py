"""The cloudwatch_logs output: route records to streams, batch them, put them, and on
failure hand back only the events of batches AWS has not accepted.

With a journal (see ``journal.py``) every flush of chunks that carry a source range is
recorded, fsynced, before its first PutLogEvents; after a crash the engine skips the chunks
the journal answers for, and :class:`~logtide.sinks.cloudwatch_logs.recovery.Recovery` puts what of
its open batches CloudWatch does not hold: nothing is sent twice, nothing is lost.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import orjson
from botocore.exceptions import ClientError

from logtide.agent.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    is_retryable,
)
from logtide.agent.core.events import Event
from logtide.agent.core.file_lock import when_free
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.reclaim import forget_tracebacks
from logtide.agent.core.record_accessor import Template
from logtide.sinks.aws import AwsClients
from logtide.sinks.aws.retry import call_with_auto_retry, describe, error_code, outcome_unknown
from logtide.sinks.cloudwatch_logs import options as cw_options
from logtide.sinks.cloudwatch_logs.batching import (
    BuildStats,
    LogEvent,
    build_event,
    encode_events,
    split_batches,
    whole_record_batches,
)
from logtide.sinks.cloudwatch_logs.journal import BatchRef, Journal, Sent, sent_events
from logtide.sinks.cloudwatch_logs.put_call import PutLogEventsCall
from logtide.sinks.cloudwatch_logs.recovery import Recovery, missing_events
from logtide.sinks.cloudwatch_logs.streams import NOT_FOUND, LogStreams, StreamKey

T = TypeVar("T")

# A retried batch AWS already took (sequence-token era) is not an error.
_ALREADY_ACCEPTED = "DataAlreadyAcceptedException"

# Under --once, how long stop() waits for the recovery of a previous run's batches.
FINAL_RECOVERY_SECONDS = 60.0


@dataclass(slots=True)
class _Batch:
    """One PutLogEvents call of a flush: its stream, the pipeline events it carries (for
    ``remaining=``) and their ``logEvents`` array, encoded once for the journal and the
    request."""

    key: StreamKey
    sources: list[Event]
    encoded: bytes


class CloudWatchLogsOutput(OutputPlugin[cw_options.CloudWatchSettings]):
    name = "cloudwatch_logs"
    description = "Send records to Amazon CloudWatch Logs (PutLogEvents)."
    options: ClassVar[Sequence[Option]] = cw_options.CLOUDWATCH_OPTIONS

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        self._group = config.group
        self._stream_name = config.log_stream_name or None
        self._stream_prefix = config.log_stream_prefix or ""
        group_template, stream_template = config.log_group_template, config.log_stream_template
        self._group_template = Template(group_template) if group_template else None
        self._stream_template = Template(stream_template) if stream_template else None
        # A tag's records all go to one stream unless a template names it per record.
        self._per_record_keys = bool(group_template or stream_template)
        self._log_key = config.log_key
        self._log_format = config.log_format
        self._auto_retry = config.auto_retry_requests
        self._clients: AwsClients | None = None
        self._streams: LogStreams | None = None
        self._client: Any = None
        self._put_call: PutLogEventsCall | None = None
        self._journal: Journal | None = None
        # One thread for the journal's writes: the default pool's threads each grow a malloc
        # arena of their own (5-9 MiB more peak RSS in bench scenario b).
        self._journal_thread = ThreadPoolExecutor(
            1, thread_name_prefix=f"{context.instance}-journal"
        )
        self._recovery: Recovery | None = None
        self._recovery_task: Any = None
        # Per tag: the events the last failed flush handed back, and its journaled batches
        # that hold them (closed by the record of the retry that sends those events again).
        self._handed_back: dict[str, tuple[list[Event], list[BatchRef]]] = {}

    async def start(self) -> None:
        self._clients = AwsClients(self.config)
        extra: dict[str, Any] = {}
        if self.config.extra_user_agent:
            extra["user_agent_extra"] = self.config.extra_user_agent
        self._client = await self._clients.client("logs", **extra)
        # Every batch's call: batching.py holds it to AWS's limits (put_call.py).
        self._put_call = PutLogEventsCall(
            self._client.botocore_client,
            await self._clients.credentials(),
            self._clients.user_agent(self.config.extra_user_agent),
            self._log_format,
            self._clients.direct_connection(self._client),
        )
        self._streams = LogStreams(
            self._client,
            auto_create_group=self.config.auto_create_group,
            retention_days=self.config.log_retention_days,
            group_class=self.config.log_group_class,
            auto_retry=self._auto_retry,
            logger=self.context.logger,
        )
        await self._open_journal()

    async def _open_journal(self) -> None:
        path = cw_options.journal_path(
            self.config, self.context.checkpoint_db, self.context.instance
        )
        if path is None:
            return
        # stop() closes it even after an interrupted open: the journal thread keeps the order.
        journal = self._journal = Journal(path)
        try:
            batches = await when_free(
                functools.partial(self._in_journal_thread, journal.open),
                self.context.logger,
                f"cloudwatch_logs: opening the journal {path}",
            )
        except OSError as exc:
            raise PermanentDeliveryError(
                f"cloudwatch_logs: cannot open the journal {path}: {exc.strerror or exc}"
            ) from None
        if journal.compaction_error is not None:
            self.context.logger.warning(
                "cloudwatch_logs: cannot rewrite the journal %s (%s); appending to it as it is",
                path,
                journal.compaction_error.strerror or journal.compaction_error,
            )
        if not batches:
            return
        self.context.logger.info(
            "cloudwatch_logs: %d journaled batch(es) from the previous run; checking them "
            "against CloudWatch",
            len(batches),
        )
        self._recovery = Recovery(
            self._client,
            journal,
            functools.partial(self._in_journal_thread, journal.done),
            self._put_sent,
            auto_retry=self._auto_retry,
            logger=self.context.logger,
            count=self._count,
        )
        self._recovery_task = self.context.spawn(
            self._recovery.run(batches), f"{self.context.instance}.recovery"
        )

    async def _in_journal_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._journal_thread, fn, *args)

    def watermarks(self) -> dict[str, int]:
        return dict(self._journal.watermarks) if self._journal is not None else {}

    async def stop(self) -> None:
        try:
            recovery = self._recovery
            if recovery is not None and self.context.once and not recovery.done.is_set():
                try:
                    await asyncio.wait_for(recovery.done.wait(), FINAL_RECOVERY_SECONDS)
                except TimeoutError:
                    raise PermanentDeliveryError(
                        "cloudwatch_logs: batches of a previous run not yet delivered; "
                        "they stay in the journal for the next start"
                    ) from None
        finally:
            # What it has not settled stays open in the journal for the next start.
            task = self._recovery_task
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            if self._clients is not None:
                await self._clients.close()
                self._clients = None
            if self._journal is not None:
                await self._in_journal_thread(self._journal.close)
            self._journal_thread.shutdown(wait=False)

    # -- routing -------------------------------------------------------------------------

    def _stream_key(self, tag: str, record: dict[str, Any]) -> StreamKey:
        group_t, stream_t = self._group_template, self._stream_template
        group = None if group_t is None else group_t.render(tag, record)
        stream = None if stream_t is None else stream_t.render(tag, record)
        if stream is None:
            stream = self._stream_name or self._stream_prefix + tag
        return (group or self._group, stream)

    def _route(self, tag: str, events: list[Event]) -> dict[StreamKey, list[LogEvent]]:
        stats = BuildStats()
        routed: dict[StreamKey, list[LogEvent]] = {}
        static_key = None if self._per_record_keys else self._stream_key(tag, {})
        for event in events:
            item = build_event(event, self._log_key, stats)
            if item is None:
                continue
            key = static_key or self._stream_key(tag, event[1])
            routed.setdefault(key, []).append(item)
        self._count("dropped_empty", stats.empty)
        self._count("dropped_missing_log_key", stats.missing_key)
        self._count("truncated", stats.truncated)
        if stats.missing_key:
            self.context.logger.warning(
                "%s: log_key '%s' not found in %d record(s); they were not sent",
                self.location,
                self._log_key,
                stats.missing_key,
            )
        if stats.truncated:
            self.context.logger.warning(
                "%s: truncated %d event(s) larger than CloudWatch allows",
                self.location,
                stats.truncated,
            )
        return routed

    def _count(self, counter: str, value: int) -> None:
        if value:
            self.context.metrics.add(self.context.instance, counter, value)

    # -- delivery ------------------------------------------------------------------------

    async def flush(self, tag: str, events: list[Event]) -> None:
        await self.flush_marked(tag, events, ())

    async def flush_marked(
        self, tag: str, events: list[Event], marks: Sequence[tuple[str, int]]
    ) -> None:
        if self._client is None:
            raise PermanentDeliveryError("cloudwatch_logs output used before start()")
        pending = self._batches(tag, events, int(time.time() * 1000))
        rid = await self._record(tag, events, pending, marks)
        for index, batch in enumerate(pending):
            try:
                await self._put(batch.key, batch.encoded, len(batch.sources))
            except Exception as exc:
                remaining = [event for later in pending[index:] for event in later.sources]
                if rid is not None:
                    refs = [(rid, later) for later in range(index, len(pending))]
                    self._handed_back[tag] = (remaining, refs)
                raise _delivery_error(batch.key, exc, remaining) from exc
            if rid is not None and self._journal is not None:
                await self._in_journal_thread(self._journal.done, (rid, index))

    def _batches(self, tag: str, events: list[Event], now_ms: int) -> list[_Batch]:
        if self._log_key is None and not self._per_record_keys:
            whole = whole_record_batches(events, now_ms)
            if whole is not None:
                key = self._stream_key(tag, {})
                return [_Batch(key, batch.sources, batch.encoded) for batch in whole]
        pending: list[_Batch] = []
        for key, items in self._route(tag, events).items():
            split = split_batches(items, now_ms)
            self._reject_locally(key, split.too_old, split.too_new)
            pending.extend(
                _Batch(key, [item.source for item in batch], encode_events(batch))
                for batch in split.batches
            )
        return pending

    async def _record(
        self,
        tag: str,
        events: list[Event],
        pending: list[_Batch],
        marks: Sequence[tuple[str, int]],
    ) -> int | None:
        """Journal the flush (fsynced) before anything of it is put; its id, or ``None``
        when there is no journal or nothing a restart would read again (no marks)."""
        handed = self._handed_back.pop(tag, None)
        # The runner retries with the very list it was handed back: those batches are now
        # this flush's to send, and a restart must not put them a second time.
        closes = handed[1] if handed is not None and handed[0] is events else []
        if self._journal is None or not marks or not (pending or closes):
            return None
        prepared = self._journal.prepare(
            [(batch.key, batch.encoded) for batch in pending], marks, closes
        )
        try:
            await self._in_journal_thread(self._journal.write, prepared)
            return prepared.rid
        except OSError as exc:
            if handed is not None:
                self._handed_back[tag] = handed
            raise RetryableDeliveryError(
                f"cloudwatch_logs: cannot write the journal {self._journal.path}: "
                f"{exc.strerror or exc}",
                remaining=events,
            ) from None

    def _reject_locally(
        self, key: StreamKey, too_old: list[LogEvent], too_new: list[LogEvent]
    ) -> None:
        """Events AWS would reject in any batch: counted and logged, never sent or retried."""
        self._count("rejected_too_old", len(too_old))
        self._count("rejected_too_new", len(too_new))
        if too_old or too_new:
            self.context.logger.warning(
                "%s: %d event(s) older than 14 days and %d more than 2 hours ahead were "
                "not sent to %s/%s (CloudWatch rejects them)",
                self.location,
                len(too_old),
                len(too_new),
                *key,
            )

    async def _put_sent(self, key: StreamKey, events: list[Sent]) -> None:
        encoded = orjson.dumps([{"timestamp": t, "message": m} for t, m in events])
        await self._put(key, encoded, len(events))

    async def _put(self, key: StreamKey, encoded: bytes, count: int) -> None:
        """Put one batch, given as its encoded ``logEvents`` array of ``count`` events."""
        assert self._streams is not None
        await self._streams.ensure(key)
        try:
            response = await self._put_once(key, encoded)
        except ClientError as exc:
            if error_code(exc) == _ALREADY_ACCEPTED:
                return
            if error_code(exc) != NOT_FOUND:
                raise
            # The group or stream was deleted behind our back: recreate it and resend once.
            self.context.logger.warning(
                "%s: log stream %s/%s disappeared; recreating it", self.location, *key
            )
            self._streams.forget(key)
            await self._streams.ensure(key)
            response = await self._put_once(key, encoded)
        self._streams.touch(key)
        self._count_rejected(key, count, response.get("rejectedLogEventsInfo") or {})
        self._count("put_requests", 1)
        self._count("sent_events", count)
        self.context.logger.debug("cloudwatch_logs: put %d events to %s/%s", count, *key)

    async def _put_once(self, key: StreamKey, encoded: bytes) -> Any:
        group, stream = key

        async def call() -> Any:
            assert self._put_call is not None
            return await self._client.run(functools.partial(self._put_call, group, stream, encoded))

        async def call_unless_landed() -> Any:
            try:
                return await call()
            except Exception as exc:
                # The answer was lost: the batch may be in the stream already. Sending it
                # again without looking would store it twice.
                if outcome_unknown(exc) and await self._landed(key, encoded):
                    forget_tracebacks(exc)
                    self._count("lost_answers_landed", 1)
                    return {}
                raise

        return await call_with_auto_retry(call_unless_landed, self._auto_retry)

    async def _landed(self, key: StreamKey, encoded: bytes) -> bool:
        sent = sent_events(orjson.loads(encoded))
        try:
            return not await missing_events(self._client, key, sent, self._auto_retry)
        except Exception as exc:
            self.context.logger.warning(
                "cloudwatch_logs: cannot tell whether a put to %s/%s landed: %s",
                *key,
                describe(exc),
            )
            return False

    def _count_rejected(self, key: StreamKey, size: int, info: dict[str, int]) -> None:
        """AWS accepted the batch but dropped some events: they must not be retried."""
        if not info:
            return
        too_old = info.get("tooOldLogEventEndIndex", -1) + 1
        expired = max(0, info.get("expiredLogEventEndIndex", -1) + 1 - too_old)
        too_new = (
            size - info["tooNewLogEventStartIndex"] if "tooNewLogEventStartIndex" in info else 0
        )
        self._count("rejected_too_old", too_old)
        self._count("rejected_expired", expired)
        self._count("rejected_too_new", too_new)
        self.context.logger.warning(
            "%s: CloudWatch rejected %d too old, %d expired and %d too new event(s) in %s/%s",
            self.location,
            too_old,
            expired,
            too_new,
            *key,
        )


def _delivery_error(key: StreamKey, exc: Exception, remaining: list[Event]) -> DeliveryError:
    message = f"cloudwatch_logs {key[0]}/{key[1]}: {describe(exc)}"
    if is_retryable(exc):
        return RetryableDeliveryError(message, remaining=remaining)
    return PermanentDeliveryError(message, remaining=remaining)
