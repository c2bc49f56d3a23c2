"""kinesis_streams' records and PutRecords batches: the limits are kept before sending."""

from __future__ import annotations

import gzip

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.sinks.aws.compression import compressor
from logtide.sinks.aws.records import RecordBuilder
from logtide.sinks.kinesis_streams import KinesisStreamsOutput
from logtide.sinks.kinesis_streams.records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_KEY_CHARS,
    MAX_RECORD_BYTES,
    PartitionKeys,
    StreamRecord,
    StreamStats,
    build_records,
    split_batches,
)
from tests.support.plugins import settings_for

PLAIN = RecordBuilder(None, None, "%Y-%m-%dT%H:%M:%S")


def records(
    events: list[Event],
    partition_key: str | None = None,
    *,
    aggregate: bool = False,
    compress: str | None = None,
    stats: StreamStats | None = None,
) -> list[StreamRecord]:
    keys = PartitionKeys(RecordAccessor(partition_key) if partition_key else None)
    codec = compressor(compress) if compress else None
    return build_records(events, PLAIN, keys, codec, aggregate, stats or StreamStats())


def test_each_record_is_json_plus_newline_with_a_random_key() -> None:
    out = records([(1.0, {"a": 1}), (1.0, {"a": 2})])
    assert [r.data for r in out] == [b'{"a":1}\n', b'{"a":2}\n']
    assert all(len(r.key) == 16 for r in out) and out[0].key != out[1].key


def test_partition_key_from_a_record_accessor_else_random_and_counted() -> None:
    stats = StreamStats()
    events: list[Event] = [
        (1.0, {"k8s": {"pod": "web-1"}}),
        (1.0, {"k8s": {"pod": 42}}),
        (1.0, {"k8s": {}}),
        (1.0, {"k8s": {"pod": ""}}),
        (1.0, {"k8s": {"pod": None}}),
        (1.0, {"k8s": {"pod": "p" * 300}}),
    ]
    out = records(events, "$k8s['pod']", stats=stats)
    assert [r.key for r in out[:2]] == ["web-1", "42"]
    assert all(len(r.key) == 16 for r in out[2:5])
    assert out[5].key == "p" * MAX_KEY_CHARS
    assert stats.random_keys == 3


def test_calls_hold_at_most_500_records() -> None:
    batches = split_batches(records([(1.0, {"i": i}) for i in range(1201)]))
    assert [len(b) for b in batches] == [MAX_BATCH_RECORDS, MAX_BATCH_RECORDS, 201]


def test_calls_hold_at_most_5_mib_of_data_and_keys() -> None:
    out = records([(1.0, {"m": "q" * 900_000, "k": "key"}) for _ in range(12)], "k")
    batches = split_batches(out)
    assert [len(b) for b in batches] == [5, 5, 2]
    for batch in batches:
        assert sum(len(r.data) + len(r.key) for r in batch) <= MAX_BATCH_BYTES
    # Exactly at the limit still fits in one call.
    exact = [StreamRecord(b"x" * (MAX_BATCH_BYTES // 4 - 1), "k", []) for _ in range(4)]
    assert [len(b) for b in split_batches(exact)] == [4]
    over = [*exact, StreamRecord(b"y", "k", [])]
    assert [len(b) for b in split_batches(over)] == [4, 1]


def test_a_record_over_1_mib_with_its_key_is_dropped_and_counted() -> None:
    stats = StreamStats()
    key = "k" * 100
    body = "x" * (MAX_RECORD_BYTES - len(key) - len('{"m":"","p":""}\n') - len(key))
    fits = {"m": body, "p": key}
    over_by_key = {"m": body, "p": key + "k"}  # one more byte of key (and of data)
    out = records([(1.0, fits), (1.0, over_by_key)], "p", stats=stats)
    assert len(out) == 1 and out[0].size == MAX_RECORD_BYTES
    assert stats.too_large == 1


def test_aggregation_packs_lines_per_partition_key_within_1_mib() -> None:
    events: list[Event] = [(1.0, {"k": f"k{i % 2}", "i": i, "m": "w" * 100_000}) for i in range(30)]
    out = records(events, "k", aggregate=True)
    assert all(r.size <= MAX_RECORD_BYTES for r in out)
    assert len(out) == 4  # 15 lines of ~100 KB per key: two packs each
    for record in out:
        lines = record.data.splitlines()
        assert {line.split(b'"k":"')[1][:2].decode() for line in lines} == {record.key}
        assert [e[1]["i"] for e in record.sources] == sorted(e[1]["i"] for e in record.sources)
    assert sorted(e[1]["i"] for r in out for e in r.sources) == list(range(30))


def test_gzip_compresses_each_record_within_the_limit() -> None:
    out = records([(1.0, {"m": "a" * 5000})], compress="gzip")
    assert gzip.decompress(out[0].data) == b'{"m":"' + b"a" * 5000 + b'"}\n'
    assert len(out[0].data) < 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"log_key": "log", "time_key": "t"}, "'time_key' and 'log_key' can not be used together"),
        ({"compression": "arrow"}, "unknown compression 'arrow'"),
        ({"port": "70000"}, "invalid port 70000"),
        ({"partition_key": "$a[x"}, "partition_key: invalid record accessor"),
    ],
)
def test_bad_settings_are_config_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_for(KinesisStreamsOutput, region="us-east-1", stream="s", **options)
    assert "test.conf:1" in str(caught.value)
