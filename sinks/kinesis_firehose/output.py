"""The kinesis_firehose output: PutRecordBatch, and on a partial failure hand back only the
events of the records Firehose did not take (Fluent Bit resends the whole chunk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.sinks.aws.record_output import RecordOutput
from logtide.sinks.aws.records import BuildStats
from logtide.sinks.aws.retry import call_with_auto_retry, delivery_error
from logtide.sinks.kinesis_firehose import options as fh_options
from logtide.sinks.kinesis_firehose.records import FirehoseRecord, build_records, split_batches


class KinesisFirehoseOutput(RecordOutput[fh_options.FirehoseSettings]):
    name = "kinesis_firehose"
    description = "Send records to an Amazon Kinesis Data Firehose delivery stream."
    options: ClassVar[Sequence[Option]] = fh_options.FIREHOSE_OPTIONS

    service = "firehose"

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        self._stream = self.config.delivery_stream

    async def flush(self, tag: str, events: list[Event]) -> None:
        stats = BuildStats()
        records = build_records(events, self._builder, self._compress, self._aggregate, stats)
        self._report(stats)
        batches = split_batches(records, self._stream)
        for index, batch in enumerate(batches):
            try:
                failed = await self._put(batch)
            except Exception as exc:
                remaining = _sources(r for later in batches[index:] for r in later)
                raise delivery_error(f"kinesis_firehose {self._stream}", exc, remaining) from exc
            if failed:
                remaining = _sources(failed) + _sources(
                    r for later in batches[index + 1 :] for r in later
                )
                raise RetryableDeliveryError(
                    f"kinesis_firehose {self._stream}: {len(failed)} of {len(batch)} records "
                    "failed; resending only those",
                    remaining=remaining,
                )

    def _report(self, stats: BuildStats) -> None:
        self._count("dropped_empty", stats.empty)
        self._count("dropped_missing_log_key", stats.missing_key)
        self._count("dropped_too_large", stats.too_large)
        self._count("truncated", stats.truncated)
        if stats.missing_key or stats.too_large:
            self.context.logger.warning(
                "%s: not sent: %d record(s) without log_key, %d over Firehose's 1,000 KiB",
                self.location,
                stats.missing_key,
                stats.too_large,
            )

    async def _put(self, batch: list[FirehoseRecord]) -> list[FirehoseRecord]:
        """Send one batch; return the records Firehose reported as failed."""
        payload = [{"Data": record.data} for record in batch]

        async def call() -> Any:
            return await self.started_client().put_record_batch(
                DeliveryStreamName=self._stream, Records=payload
            )

        response = await call_with_auto_retry(call, self._auto_retry)
        self._count("put_requests", 1)
        if not response.get("FailedPutCount"):
            self._count("sent_records", len(batch))
            return []
        answers = response.get("RequestResponses") or []
        failed = [
            record
            for record, answer in zip(batch, answers, strict=False)
            if answer.get("ErrorCode")
        ]
        # An answer list shorter than the batch leaves the tail's outcome unknown: resend it.
        failed.extend(batch[len(answers) :])
        self._count("failed_records", len(failed))
        self._count("sent_records", len(batch) - len(failed))
        codes = sorted({str(a.get("ErrorCode")) for a in answers if a.get("ErrorCode")})
        self.context.logger.warning(
            "%s: %d of %d records failed in %s (%s); they will be resent",
            self.location,
            len(failed),
            len(batch),
            self._stream,
            ", ".join(codes) or "no answer",
        )
        return failed


def _sources(records: Any) -> list[Event]:
    return [event for record in records for event in record.sources]
