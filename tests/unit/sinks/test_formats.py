"""The file output's default ``tag: [time, record]`` lines: times written to the nanosecond,
clamped where no date holds them, whatever else the chunk holds."""

from __future__ import annotations

import pytest

from logtide.sinks.formats import out_file_lines

NOW = 1795744014.25


@pytest.mark.parametrize(
    ("timestamp", "written"),
    [
        (NOW, "1795744014.250000000"),
        (1795744014.0, "1795744014.000000000"),
        (1.9999999999, "2.000000000"),  # nanoseconds that round up to a second
        (float("nan"), "0.000000000"),
        (float("inf"), "253402300799.000000000"),
        (1e20, "253402300799.000000000"),
        (-1e20, "-62135596800.000000000"),
    ],
)
def test_each_time_is_written_alone_and_among_ordinary_ones(timestamp: float, written: str) -> None:
    alone = out_file_lines("app", [(timestamp, {"n": 1})])
    assert alone == f'app: [{written}, {{"n":1}}]\n'.encode()
    among = out_file_lines("app", [(NOW, {"n": 0}), (timestamp, {"n": 1}), (NOW, {"n": 2})])
    assert among.splitlines()[1] == alone.rstrip(b"\n")
    assert among.splitlines()[0] == b'app: [1795744014.250000000, {"n":0}]'


def test_records_orjson_refuses_and_text_beyond_ascii_are_written_whole() -> None:
    lines = out_file_lines("app", [(NOW, {"big": 2**70}), (NOW, {"msg": "café ✓"})])
    assert lines.decode().splitlines() == [
        'app: [1795744014.250000000, {"big":1180591620717411303424}]',
        'app: [1795744014.250000000, {"msg":"café ✓"}]',
    ]
    assert out_file_lines("app", []) == b""
