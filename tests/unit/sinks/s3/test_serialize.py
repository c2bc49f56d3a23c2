"""JSON lines as Fluent Bit's s3 output writes them."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from logtide.sinks.s3.serialize import LineWriter, date_formatter

T0 = 1795744014.715089  # 2026-11-27T01:46:54.715089Z


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("iso8601", "2026-11-27T01:46:54.715089Z"),
        ("java_sql_timestamp", "2026-11-27 01:46:54.715089"),
        ("epoch", 1795744014),
        ("epoch_ms", 1795744014715),
        ("double", T0),
    ],
)
def test_date_formats(fmt: str, expected: object) -> None:
    assert date_formatter(fmt)(T0) == expected


def test_microseconds_round_instead_of_losing_one_to_float_error() -> None:
    assert date_formatter("iso8601")(1.000001) == "1970-01-01T00:00:01.000001Z"
    assert date_formatter("iso8601")(1.9999999) == "1970-01-01T00:00:02.000000Z"


def test_date_key_first_then_record_keys() -> None:
    line = LineWriter("date", "iso8601", None).line(T0, {"state": "CA", "time": "x"})
    assert line == b'{"date":"2026-11-27T01:46:54.715089Z","state":"CA","time":"x"}\n'


def test_date_key_disabled_and_renamed() -> None:
    assert LineWriter(None, "iso8601", None).line(T0, {"a": 1}) == b'{"a":1}\n'
    assert orjson.loads(LineWriter("ts", "epoch", None).line(T0, {"a": 1}) or b"") == {
        "ts": 1795744014,
        "a": 1,
    }


def test_log_key_writes_the_value_only_and_skips_records_without_it() -> None:
    writer = LineWriter("date", "iso8601", "log")
    assert writer.line(T0, {"log": "plain text", "x": 1}) == b"plain text\n"
    assert writer.line(T0, {"log": {"a": [1, 2]}}) == b'{"a":[1,2]}\n'
    assert writer.line(T0, {"other": 1}) is None
    assert writer.missing_log_key == 1


def test_values_orjson_cannot_encode_become_text() -> None:
    line = LineWriter(None, "iso8601", None).line(T0, {"b": b"\xffraw", 1: "int key"})
    assert orjson.loads(line or b"") == {"b": "\ufffdraw", "1": "int key"}


def test_integers_beyond_64_bits_are_written_not_raised() -> None:
    writer = LineWriter(None, "iso8601", None)
    assert (
        writer.line(T0, {"big": 2**70, "s": "é"})
        == b'{"big":1180591620717411303424,"s":"\xc3\xa9"}\n'
    )
    assert (
        LineWriter(None, "iso8601", "big").line(T0, {"big": [2**70]})
        == b"[1180591620717411303424]\n"
    )


@pytest.mark.parametrize("log_key", [None, "doc"])
def test_lines_held_for_a_flush_hold_only_their_own_size(log_key: str | None) -> None:
    """orjson's bytes keep the buffer they were written in (4 KiB at least); a flush holds
    all its lines until the store writes them, so each line is a copy of its own size."""
    writer = LineWriter(None, "iso8601", log_key)
    records = [{"n": n, "doc": {"s": "x" * 100}, "s": "x" * 100} for n in range(2000)]
    tracemalloc.start()
    try:
        held = [writer.line(T0, record) for record in records]
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(held) == 2000
    assert size < 2000 * 400
