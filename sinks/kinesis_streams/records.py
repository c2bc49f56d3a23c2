"""Records -> Kinesis records (data and partition key) -> PutRecords calls AWS accepts.

AWS's PutRecords limits, enforced here before anything is sent: at most 500 records per
call; a record's data plus its partition key at most 1 MiB; a call's data plus partition
keys at most 5 MiB. A partition key is 1 to 256 characters, counted in the call as its
UTF-8 bytes. A record over 1 MiB is dropped and counted (``too_large``); no limit ever
fails a call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from logtide.agent.core.events import Event, Record
from logtide.agent.core.record_accessor import MISSING, RecordAccessor, value_text
from logtide.sinks.aws.compression import Compressor, compress_within
from logtide.sinks.aws.records import BuildStats, RecordBuilder

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_KEY_CHARS = 256


@dataclass(slots=True)
class StreamRecord:
    """One Kinesis record: its data, its partition key and the pipeline events it carries."""

    data: bytes
    key: str
    sources: list[Event]

    @property
    def size(self) -> int:
        """What the record counts against the 1 MiB and 5 MiB limits."""
        return len(self.data) + len(self.key.encode("utf-8", "surrogatepass"))


@dataclass(slots=True)
class StreamStats(BuildStats):
    #: records that named no usable ``partition_key`` value and got a random key
    random_keys: int = 0


def random_key() -> str:
    """A key Kinesis hashes to any shard: 16 hex digits, new for every record (Fluent Bit's
    keys are random too, made from a per-instance UUID, the tag's hash and the clock)."""
    return f"{random.getrandbits(64):016x}"


class PartitionKeys:
    """Each record's partition key: the ``partition_key`` accessor's value (cut to 256
    characters), else, when unset or when the record lacks it, a random key."""

    def __init__(self, accessor: RecordAccessor | None) -> None:
        self._accessor = accessor

    @property
    def configured(self) -> bool:
        return self._accessor is not None

    def named(self, record: Record) -> str | None:
        """The record's own key, or ``None`` for a random one."""
        if self._accessor is None:
            return None
        value = self._accessor.get(record)
        if value is MISSING or value is None:
            return None
        return value_text(value)[:MAX_KEY_CHARS] or None


def _key_bytes(key: str) -> int:
    return len(key.encode("utf-8", "surrogatepass"))


class _Packs:
    """``simple_aggregation``: lines packed into records of at most 1 MiB, one open pack per
    partition key so a key's records stay together and in order."""

    def __init__(self) -> None:
        self.open: dict[str | None, tuple[str, list[bytes], list[Event], int]] = {}
        self.closed: list[StreamRecord] = []

    def add(self, named: str | None, line: bytes, event: Event) -> None:
        pack = self.open.get(named)
        if pack is not None and pack[3] + len(line) > MAX_RECORD_BYTES:
            self._close(named)
            pack = None
        if pack is None:
            key = named if named is not None else random_key()
            pack = (key, [], [], _key_bytes(key))
        key, lines, sources, size = pack
        lines.append(line)
        sources.append(event)
        self.open[named] = (key, lines, sources, size + len(line))

    def _close(self, named: str | None) -> None:
        key, lines, sources, _ = self.open.pop(named)
        self.closed.append(StreamRecord(b"".join(lines), key, sources))

    def records(self) -> list[StreamRecord]:
        for named in list(self.open):
            self._close(named)
        return self.closed


def build_records(
    events: list[Event],
    builder: RecordBuilder,
    keys: PartitionKeys,
    compress: Compressor | None,
    aggregate: bool,
    stats: StreamStats,
) -> list[StreamRecord]:
    """One record per event, or (``aggregate``) as many lines per record as fit; events
    whose line with its key passes 1 MiB are left out and counted, as Fluent Bit does."""
    records: list[StreamRecord] = []
    packs = _Packs() if aggregate else None
    for event in events:
        line = builder.line(event, stats)
        if line is None:
            continue
        named = keys.named(event[1])
        if named is None and keys.configured:
            stats.random_keys += 1
        key = named if named is not None else random_key()
        if len(line) + _key_bytes(key) > MAX_RECORD_BYTES:
            stats.too_large += 1
            continue
        if packs is not None:
            packs.add(named, line, event)
        else:
            records.append(StreamRecord(line, key, [event]))
    if packs is not None:
        records = packs.records()
    if compress is None:
        return records
    compressed: list[StreamRecord] = []
    for record in records:
        result = compress_within(compress, record.data, MAX_RECORD_BYTES - _key_bytes(record.key))
        if result is None:
            stats.too_large += len(record.sources)
            continue
        data, truncated = result
        stats.truncated += truncated
        compressed.append(StreamRecord(data, record.key, record.sources))
    return compressed


def split_batches(records: list[StreamRecord]) -> list[list[StreamRecord]]:
    """Cut records, in order, into PutRecords calls within the record and byte limits."""
    batches: list[list[StreamRecord]] = []
    batch: list[StreamRecord] = []
    size = 0
    for record in records:
        cost = record.size
        if batch and (len(batch) >= MAX_BATCH_RECORDS or size + cost > MAX_BATCH_BYTES):
            batches.append(batch)
            batch, size = [], 0
        batch.append(record)
        size += cost
    if batch:
        batches.append(batch)
    return batches
