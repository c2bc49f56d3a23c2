import gzip
import os

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.sinks.aws.compression import TRUNCATION_SUFFIX, compress_within, compressor
from logtide.sinks.aws.records import BuildStats, RecordBuilder, format_time
from logtide.sinks.kinesis_firehose import KinesisFirehoseOutput
from logtide.sinks.kinesis_firehose.records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
    REQUEST_OVERHEAD,
    build_records,
    split_batches,
)
from tests.support.plugins import settings_for

PLAIN = RecordBuilder(None, None, "%Y-%m-%dT%H:%M:%S")


def records(events, builder=PLAIN, compress=None, aggregate=False, stats=None):  # type: ignore[no-untyped-def]
    return build_records(events, builder, compress, aggregate, stats or BuildStats())


def test_each_record_is_json_plus_newline() -> None:
    out = records([(1.0, {"a": 1, "b": "é"})])
    assert [r.data for r in out] == ['{"a":1,"b":"é"}\n'.encode()]


def test_time_key_and_format_with_milliseconds() -> None:
    builder = RecordBuilder(None, "ts", "%Y-%m-%dT%H:%M:%S.%3NZ")
    out = records([(1795744014.714, {"a": 1})], builder)
    assert out[0].data == b'{"a":1,"ts":"2026-11-27T01:46:54.714Z"}\n'
    assert format_time(0.000000001, "%L") == "000000000"
    assert format_time(1.5, "%S.%9N") == "01.500000000"


def test_log_key_sends_value_and_counts_missing() -> None:
    stats = BuildStats()
    builder = RecordBuilder("log", None, "%S")
    out = records(
        [(1.0, {"log": "line"}), (1.0, {"x": 1}), (1.0, {"log": ""})], builder, stats=stats
    )
    assert [r.data for r in out] == [b"line\n"]
    assert (stats.missing_key, stats.empty) == (1, 1)


def test_record_of_1000_kib_or_more_is_discarded() -> None:
    stats = BuildStats()
    body = "x" * (MAX_RECORD_BYTES - len('{"m":""}\n') - 1)
    fits, too_big = {"m": body}, {"m": body + "x"}
    out = records([(1.0, fits), (1.0, too_big)], stats=stats)
    assert len(out) == 1 and len(out[0].data) == MAX_RECORD_BYTES - 1
    assert stats.too_large == 1


def test_batches_hold_at_most_500_records() -> None:
    out = records([(1.0, {"i": i}) for i in range(1201)])
    batches = split_batches(out, "s")
    assert [len(b) for b in batches] == [MAX_BATCH_RECORDS, MAX_BATCH_RECORDS, 201]


def test_batches_stay_under_4_mib_on_the_wire() -> None:
    out = records([(1.0, {"m": "q" * 900_000}) for _ in range(12)])
    batches = split_batches(out, "stream")
    for batch in batches:
        wire = REQUEST_OVERHEAD + len("stream") + sum(r.wire_size for r in batch)
        assert wire <= MAX_BATCH_BYTES
    assert [len(b) for b in batches] == [3, 3, 3, 3]


def test_aggregation_packs_lines_and_keeps_every_source() -> None:
    events = [(1.0, {"m": "w" * 100_000, "i": i}) for i in range(25)]
    out = records(events, aggregate=True)
    assert all(len(r.data) < MAX_RECORD_BYTES for r in out)
    assert len(out) == 3
    assert [e for r in out for e in r.sources] == events
    assert b"".join(r.data for r in out).count(b"\n") == 25


def test_gzip_compression_round_trips() -> None:
    out = records([(1.0, {"a": 1})], compress=compressor("gzip"))
    assert gzip.decompress(out[0].data) == b'{"a":1}\n'


@pytest.mark.parametrize("codec", ["zstd", "snappy"])
def test_other_codecs(codec: str) -> None:
    cramjam = pytest.importorskip("cramjam")
    out = records([(1.0, {"a": 1})], compress=compressor(codec))
    if codec == "zstd":
        assert bytes(cramjam.zstd.decompress(out[0].data)) == b'{"a":1}\n'
    else:
        assert bytes(cramjam.snappy.decompress_raw(out[0].data)) == b'{"a":1}\n'


def test_incompressible_input_is_truncated_with_suffix() -> None:
    data = os.urandom(50_000)
    result = compress_within(compressor("gzip"), data, 20_000)
    assert result is not None
    out, truncated = result
    assert truncated and len(out) <= 20_000
    assert gzip.decompress(out).endswith(TRUNCATION_SUFFIX)


def test_arrow_and_unknown_codecs_are_config_errors() -> None:
    for codec in ("arrow", "lz4"):
        with pytest.raises(ConfigError, match="compression"):
            settings_for(KinesisFirehoseOutput, region="r", delivery_stream="s", compression=codec)


def test_delivery_stream_is_required() -> None:
    with pytest.raises(ConfigError, match="delivery_stream"):
        settings_for(KinesisFirehoseOutput, region="r")


def test_times_no_date_can_show_are_clamped_not_raised() -> None:
    assert format_time(1e20, "%Y") == "9999"
    assert format_time(-1e20, "%Y") == "1"
    assert format_time(float("nan"), "%Y-%m-%d") == "1970-01-01"
