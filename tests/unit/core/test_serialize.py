"""JSON lines of records: the orjson path and the stdlib fallback give the same bytes."""

from __future__ import annotations

import json
import tracemalloc

from logtide.agent.core.serialize import dumps, record_lines, record_texts
from logtide.sinks.formats import json_lines, plain_lines


def test_record_lines_is_one_compact_json_object_per_line() -> None:
    records = [{"a": 1, "s": "é\n"}, {"b": [1, None, True], "raw": b"x\xff"}]
    assert (
        record_lines(records)
        == b'{"a":1,"s":"\xc3\xa9\\n"}\n{"b":[1,null,true],"raw":"x\xef\xbf\xbd"}\n'
    )


def test_integer_beyond_64_bits_falls_back_for_the_batch() -> None:
    records = [{"small": 1}, {"big": 2**64}]
    lines = record_lines(records).splitlines()
    assert [json.loads(line) for line in lines] == records
    assert plain_lines([(1.0, r) for r in records]) == record_lines(records)


def test_nan_and_infinities_are_null_on_every_path() -> None:
    """orjson writes them as null; the stdlib path (an integer beyond 64 bits beside them)
    wrote ``NaN``, which is not JSON, until it did the same."""
    values = {"nan": float("nan"), "inf": [float("inf"), float("-inf")], "x": 1.5}
    assert dumps(values) == b'{"nan":null,"inf":[null,null],"x":1.5}'
    assert dumps({**values, "big": 2**64}) == (
        b'{"nan":null,"inf":[null,null],"x":1.5,"big":18446744073709551616}'
    )
    assert json.loads(record_lines([{**values, "big": 2**64}]))["nan"] is None


def test_keys_that_are_not_strings_are_written_as_their_text() -> None:
    # A Lua filter can give a record integer keys; orjson needs OPT_NON_STR_KEYS for them.
    assert dumps({1: "a", "b": {2.5: True}}) == b'{"1":"a","b":{"2.5":true}}'
    assert dumps({1: "a"}, sort_keys=True, newline=True) == b'{"1":"a"}\n'
    assert dumps({1: 2**65}) == b'{"1":36893488147419103232}'


def test_a_key_json_has_no_spelling_for_fails_no_record() -> None:
    # A python filter can set a tuple or bytes key: the stdlib path refused it, and the
    # whole chunk, the other records with it, failed for good in every JSON output.
    records = [{"n": 1}, {"n": 2, "odd": {(1, "a"): "t", b"k\xff": 1, 3: [(4, 5)]}}]
    assert record_lines(records) == (
        b'{"n":1}\n{"n":2,"odd":{"(1, \'a\')":"t","k\xef\xbf\xbd":1,"3":[[4,5]]}}\n'
    )
    assert dumps({(1,): 2**65, 2: "b", "a": None}, sort_keys=True) == (
        b'{"(1,)":36893488147419103232,"2":"b","a":null}'
    )
    assert record_texts(records)[1] == dumps(records[1]).decode()


def test_json_lines_puts_the_date_key_first() -> None:
    assert json_lines([(1.5, {"a": 1})], "date", "double") == b'{"date":1.5,"a":1}\n'


def test_an_integer_beyond_64_bits_serialises_alike_through_every_output() -> None:
    """Each output once had its own serialiser; cloudwatch_logs and kinesis_firehose put a
    record holding such an integer nowhere (orjson refused it and the batch failed)."""
    from logtide.sinks.aws.records import BuildStats as FirehoseStats
    from logtide.sinks.aws.records import RecordBuilder
    from logtide.sinks.cloudwatch_logs.batching import BuildStats, build_event
    from logtide.sinks.s3.keys import KeyFormat
    from logtide.sinks.s3.serialize import LineWriter

    record = {"big": 2**65 + 1, "nested": {"n": -(2**70)}, "s": "é"}
    line = b'{"big":36893488147419103233,"nested":{"n":-1180591620717411303424},"s":"\xc3\xa9"}'
    assert json.loads(line) == record
    assert dumps(record) == line
    assert record_lines([record]) == line + b"\n"  # file output, disk queue
    assert json_lines([(1.0, record)], None, "double") == line + b"\n"  # file/stdout json
    assert LineWriter(None, "iso8601", None).line(1.0, record) == line + b"\n"  # s3
    event = build_event((1.0, record), None, BuildStats())  # cloudwatch_logs
    assert event is not None and event.message == line.decode()
    firehose = RecordBuilder(None, None, "%Y").line((1.0, record), FirehoseStats())
    assert firehose == line + b"\n"
    keys = KeyFormat("/$nested")
    assert keys.group(record) == ("%7B%22n%22%3A-1180591620717411303424%7D",)


def test_record_texts_are_what_dumps_writes() -> None:
    records = [{"a": 1, "s": "é\n"}, {"raw": b"x\xff"}, {1: "a"}, {"big": 2**64}]
    assert record_texts(records) == [dumps(record).decode() for record in records]
    assert record_texts(records[:2]) == [dumps(record).decode() for record in records[:2]]


def test_record_texts_hold_only_their_own_size() -> None:
    """orjson's bytes keep the buffer they were written in (4 KiB at least); texts do not."""
    records = [{"n": n, "s": "x" * 100} for n in range(2000)]
    tracemalloc.start()
    try:
        texts = record_texts(records)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(texts) == 2000
    assert held < 2000 * 400
