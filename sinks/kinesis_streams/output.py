"""The kinesis_streams output: PutRecords within AWS's limits; on a partial failure only the
records Kinesis marked failed with a retryable code are handed back (Fluent Bit resends the
whole chunk), and records it refused for good are dropped and counted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from logtide.agent.core.errors import RetryableDeliveryError, is_retryable
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.sinks.aws.record_output import RecordOutput
from logtide.sinks.aws.retry import call_with_auto_retry, delivery_error
from logtide.sinks.kinesis_streams import options as ks_options
from logtide.sinks.kinesis_streams.records import (
    PartitionKeys,
    StreamRecord,
    StreamStats,
    build_records,
    split_batches,
)


class KinesisStreamsOutput(RecordOutput[ks_options.KinesisStreamsSettings]):
    name = "kinesis_streams"
    description = "Send records to an Amazon Kinesis data stream (PutRecords)."
    options: ClassVar[Sequence[Option]] = ks_options.KINESIS_STREAMS_OPTIONS

    service = "kinesis"

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        self._stream = config.stream
        self._label = f"kinesis_streams {config.stream}"
        self._keys = PartitionKeys(config.partition_accessor)

    async def flush(self, tag: str, events: list[Event]) -> None:
        stats = StreamStats()
        records = build_records(
            events, self._builder, self._keys, self._compress, self._aggregate, stats
        )
        self._report(stats)
        batches = split_batches(records)
        for index, batch in enumerate(batches):
            try:
                failed = await self._put(batch)
            except Exception as exc:
                remaining = _sources(r for later in batches[index:] for r in later)
                raise delivery_error(self._label, exc, remaining) from exc
            if failed:
                later = _sources(r for rest in batches[index + 1 :] for r in rest)
                raise RetryableDeliveryError(
                    f"{self._label}: {len(failed)} of {len(batch)} records failed; "
                    "resending only those",
                    remaining=_sources(failed) + later,
                )

    def _report(self, stats: StreamStats) -> None:
        self._count("dropped_empty", stats.empty)
        self._count("dropped_missing_log_key", stats.missing_key)
        self._count("dropped_too_large", stats.too_large)
        self._count("dropped_records", stats.missing_key + stats.too_large)
        self._count("truncated", stats.truncated)
        self._count("random_partition_keys", stats.random_keys)
        if stats.missing_key or stats.too_large:
            self.context.logger.warning(
                "%s: not sent: %d record(s) without log_key, %d over Kinesis's 1 MiB per "
                "record (data + partition key)",
                self.location,
                stats.missing_key,
                stats.too_large,
            )

    async def _put(self, batch: list[StreamRecord]) -> list[StreamRecord]:
        """Send one PutRecords call; return the records to send again."""
        payload = [{"Data": record.data, "PartitionKey": record.key} for record in batch]

        async def call() -> Any:
            return await self.started_client().put_records(StreamName=self._stream, Records=payload)

        response = await call_with_auto_retry(call, self._auto_retry)
        self._count("put_requests", 1)
        if not response.get("FailedRecordCount"):
            self._count("sent_records", len(batch))
            return []
        answers = response.get("Records") or []
        retry: list[StreamRecord] = []
        refused: list[StreamRecord] = []
        codes: set[str] = set()
        for record, answer in zip(batch, answers, strict=False):
            code = answer.get("ErrorCode")
            if not code:
                continue
            codes.add(str(code))
            failure = ClientError(
                {"Error": {"Code": str(code), "Message": str(answer.get("ErrorMessage", ""))}},
                "PutRecords",
            )
            (retry if is_retryable(failure) else refused).append(record)
        # An answer list shorter than the call leaves the tail's outcome unknown: resend it.
        retry.extend(batch[len(answers) :])
        self._count("sent_records", len(batch) - len(retry) - len(refused))
        self._count("failed_records", len(retry))
        if refused:
            dropped = sum(len(record.sources) for record in refused)
            self._count("dropped_records", dropped)
            self._count("dropped_refused", dropped)
        self.context.logger.warning(
            "%s: %d of %d records failed in %s (%s); %d will be resent, %d refused for good "
            "are dropped",
            self.location,
            len(retry) + len(refused),
            len(batch),
            self._stream,
            ", ".join(sorted(codes)) or "no answer",
            len(retry),
            len(refused),
        )
        return retry


def _sources(records: Iterable[StreamRecord]) -> list[Event]:
    return [event for record in records for event in record.sources]
