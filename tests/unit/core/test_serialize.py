"""JSON lines of records: the orjson path and the stdlib fallback give the same bytes."""

from __future__ import annotations

import json

from agent.core.serialize import record_lines
from sinks.formats import json_lines, plain_lines


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


def test_json_lines_puts_the_date_key_first() -> None:
    assert json_lines([(1.5, {"a": 1})], "date", "double") == b'{"date":1.5,"a":1}\n'
