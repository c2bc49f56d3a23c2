"""Records -> Firehose records -> PutRecordBatch batches that AWS accepts.

AWS's rules: at most 500 records per PutRecordBatch, each record's data at most 1,000 KiB,
the whole request at most 4 MiB. Like Fluent Bit we count the request as it travels
(base64 data plus per-record JSON overhead), which keeps every batch under the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.events import Event
from logtide.sinks.aws.compression import Compressor, compress_within
from logtide.sinks.aws.records import BuildStats, RecordBuilder

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1_024_000
# Fluent Bit's accounting of the JSON around the records of one request.
REQUEST_OVERHEAD = 42 + 4
RECORD_OVERHEAD = 12


@dataclass(slots=True)
class FirehoseRecord:
    """The bytes of one Firehose record and the pipeline events it carries."""

    data: bytes
    sources: list[Event]

    @property
    def wire_size(self) -> int:
        return 4 * ((len(self.data) + 2) // 3) + RECORD_OVERHEAD


def build_records(
    events: list[Event],
    builder: RecordBuilder,
    compress: Compressor | None,
    aggregate: bool,
    stats: BuildStats,
) -> list[FirehoseRecord]:
    """One record per event, or (``aggregate``) as many lines per record as fit."""
    records: list[FirehoseRecord] = []
    pending: list[bytes] = []
    sources: list[Event] = []
    size = 0
    for event in events:
        line = builder.line(event, stats)
        if line is None:
            continue
        if len(line) >= MAX_RECORD_BYTES:
            stats.too_large += 1
            continue
        if not aggregate:
            records.append(FirehoseRecord(line, [event]))
            continue
        if pending and size + len(line) >= MAX_RECORD_BYTES:
            records.append(FirehoseRecord(b"".join(pending), sources))
            pending, sources, size = [], [], 0
        pending.append(line)
        sources.append(event)
        size += len(line)
    if pending:
        records.append(FirehoseRecord(b"".join(pending), sources))
    if compress is None:
        return records
    compressed: list[FirehoseRecord] = []
    for record in records:
        result = compress_within(compress, record.data, MAX_RECORD_BYTES)
        if result is None:
            stats.too_large += len(record.sources)
            continue
        data, truncated = result
        stats.truncated += truncated
        compressed.append(FirehoseRecord(data, record.sources))
    return compressed


def split_batches(records: list[FirehoseRecord], stream_name: str) -> list[list[FirehoseRecord]]:
    """Cut records, in order, into batches within the record and byte limits."""
    base = REQUEST_OVERHEAD + len(stream_name.encode())
    batches: list[list[FirehoseRecord]] = []
    batch: list[FirehoseRecord] = []
    size = base
    for record in records:
        cost = record.wire_size
        if batch and (len(batch) >= MAX_BATCH_RECORDS or size + cost > MAX_BATCH_BYTES):
            batches.append(batch)
            batch, size = [], base
        batch.append(record)
        size += cost
    if batch:
        batches.append(batch)
    return batches
