"""Operators, functions and output keys, each against Fluent Bit's rules."""

from __future__ import annotations

from typing import Any

import pytest

from logtide import streamsql
from logtide.streamsql.values import float32, str_to_number

RECORDS: list[dict[str, Any]] = [
    {"id": 0, "v": 5},
    {"id": 1, "v": 5.5},
    {"id": 2, "v": "5"},
    {"id": 3, "v": " 7abc"},
    {"id": 4, "v": "n/a"},
    {"id": 5, "v": None},
    {"id": 6},
    {"id": 7, "v": True},
    {"id": 8, "v": False},
    {"id": 9, "v": {"a": 1}},
    {"id": 10, "v": [1, 2]},
    {"id": 11, "v": "abc"},
    {"id": 12, "v": 0},
    {"id": 13, "v": -2},
    {"id": 14, "v": ""},
    {"id": 15, "v": "5.5.5"},
    {"id": 16, "v": "1e3"},
    {"id": 17, "v": "2.5e1"},
]


def ids(where: str, records: list[dict[str, Any]] = RECORDS) -> list[int]:
    query = streamsql.compile(f"SELECT id FROM TAG:'t' WHERE {where};")
    return [r["id"] for _, r in query.process("t", [(1.0, rec) for rec in records])]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("v = 5", [0, 2]),
        ("v = 5.5", [1]),
        ("v > 4", [0, 1, 2, 3, 17]),
        ("v < 1", [12, 13]),
        ("v >= 5", [0, 1, 2, 3, 17]),
        ("v <= -2", [13]),
        ("v = 1", [16]),
        ("v = 'abc'", [11]),
        ("v = '5'", [2]),
        ("v <> 5", [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]),
        ("v != 'abc'", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]),
        ("v = true", [7, 9]),
        ("v = false", [8]),
        ("v < true", []),
        ("v IS NULL", [5]),
        ("v IS NOT NULL", [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]),
        ("v", [0, 1, 2, 3, 4, 7, 9, 11, 14, 15, 16, 17]),
        ("NOT v", [5, 6, 8, 10, 12, 13]),
        ("@record.contains(v)", [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17]),
        ("1", list(range(18))),
        ("0", []),
        ("'x'", list(range(18))),
        ("false", []),
    ],
)
def test_operators(where: str, expected: list[int]) -> None:
    assert ids(where) == expected


def test_string_ordering_is_strncmp_over_the_left_length() -> None:
    records = [{"id": i, "s": s} for i, s in enumerate(["ab", "abd", "b", "a", "", 5, "aa"])]
    # "ab", "a" and "" equal the first len(left) bytes of 'abc': neither less nor greater.
    assert ids("s < 'abc'", records) == [6]
    assert ids("s <= 'abc'", records) == [0, 3, 4, 6]
    assert ids("s > 'abc'", records) == [1, 2]
    assert ids("s >= 'abc'", records) == [0, 1, 2, 3, 4]


def test_and_or_are_right_associative_without_precedence() -> None:
    records = [
        {"id": i, "a": a, "b": b, "c": c}
        for i, (a, b, c) in enumerate([(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)])
    ]
    # a AND b OR c  ==  a AND (b OR c)
    assert ids("a AND b OR c", records) == [
        i for i, r in enumerate(records) if r["a"] and (r["b"] or r["c"])
    ]
    # a OR b AND c  ==  a OR (b AND c)
    assert ids("a OR b AND c", records) == [
        i for i, r in enumerate(records) if r["a"] or (r["b"] and r["c"])
    ]
    # NOT takes everything on its right.
    assert ids("NOT a AND b", records) == [
        i for i, r in enumerate(records) if not (r["a"] and r["b"])
    ]
    assert ids("(NOT a) AND b", records) == [
        i for i, r in enumerate(records) if not r["a"] and r["b"]
    ]


def test_nested_keys_and_the_non_map_quirk() -> None:
    records = [
        {"id": 0, "c": {"a": {"z": "1"}}},
        {"id": 1, "c": {"a": "str"}},
        {"id": 2, "c": "1"},
        {"id": 3, "c": {"b": 1}},
        {"id": 4},
    ]
    assert ids("c['a']['z'] = 1", records) == [0, 2]
    assert ids("c['a'] = true", records) == [0]
    assert ids("c['a']['z'] IS NOT NULL", records) == [0, 1, 2, 3, 4]
    query = streamsql.compile("SELECT id, c['a']['z'], c['a'] AS ca FROM TAG:'t';")
    out = [r for _, r in query.process("t", [(1.0, rec) for rec in records])]
    assert out == [
        {"id": 0, "c['a']['z']": "1", "ca": {"z": "1"}},
        {"id": 1, "ca": "str"},
        {"id": 2, "c['a']['z']": "1", "ca": "1"},
        {"id": 3},
        {"id": 4},
    ]


def test_float_literals_are_c_floats() -> None:
    records = [{"id": 0, "p": 42.49}, {"id": 1, "p": float32(42.49)}, {"id": 2, "p": 50.5}]
    assert ids("p = 42.49", records) == [1]
    assert ids("p >= 50.5", records) == [2]


def test_record_time_and_functions() -> None:
    query = streamsql.compile(
        "SELECT id, RECORD_TAG(), RECORD_TIME() AS t, NOW(), UNIX_TIMESTAMP() "
        "FROM TAG:'t' WHERE @record.time() > 1.5;"
    )
    out = query.process("t.x", [(1.0, {"id": 0}), (2.0, {"id": 1})])
    assert len(out) == 1
    when, record = out[0]
    assert when == 2.0
    assert record["RECORD_TAG()"] == "t.x" and record["t"] == 2.0
    assert len(record["NOW()"]) == 19 and isinstance(record["UNIX_TIMESTAMP()"], int)


def test_select_keeps_timestamps_and_drops_records_without_selected_keys() -> None:
    query = streamsql.compile("SELECT a AS x FROM TAG:'t';")
    assert query.process("t", [(1.0, {"a": 1}), (2.0, {"b": 2}), (3.0, {"a": None})]) == [
        (1.0, {"x": 1}),
        (3.0, {"x": None}),
    ]
    star = streamsql.compile("SELECT * FROM TAG:'t';")
    record = {"a": 1}
    out = star.process("t", [(1.0, record), (2.0, {})])
    assert out == [(1.0, {"a": 1})] and out[0][1] is not record


def test_tag_matching() -> None:
    query = streamsql.compile("SELECT * FROM TAG:'order*';")
    assert query.matches("orders.app") and query.matches("order")
    assert not query.matches("app.orders")
    exact = streamsql.compile("SELECT * FROM STREAM:Tail.0;")
    assert not exact.matches("tail.0") and exact.reads_stream("tail.0")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12), (" -3", -3), ("12abc", 12), ("+5", 5), ("1e5", 1), ("0x1A", 0),
        ("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("2.5e1", 25.0), ("0x1.8", 1.5),
        ("abc", None), ("", None), ("1.2.3", None), (".", None), ("99999999999999999999", None),
        ("1.0e5000", None),
    ],
)  # fmt: skip
def test_string_to_number_follows_strtoll_and_strtold(text: str, number: object) -> None:
    assert str_to_number(text) == number
    if number is not None:
        assert type(str_to_number(text)) is type(number)


def aggregate(sql: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    query = streamsql.compile(sql)
    return [r for _, r in query.process("t", [(100.0 + i, r) for i, r in enumerate(records)])]


def test_aggregates_follow_fluent_bit() -> None:
    records = [
        {"k": "a", "v": 1},
        {"k": "a", "v": "2"},
        {"k": "a", "v": "x"},
        {"k": "b", "v": 1.5},
        {"k": "b", "v": 3},
        {"k": "5", "v": True},
        {"k": None, "v": 4},
        {"v": 9},
    ]
    out = aggregate(
        "SELECT k, COUNT(*), COUNT(v) AS n, AVG(v), SUM(v), MIN(v), MAX(v) FROM TAG:'t' GROUP BY k;",
        records,
    )
    assert out == [
        {"k": "a", "COUNT(*)": 3, "n": 3, "AVG(v)": 1.0, "SUM(v)": 3, "MIN(v)": 1, "MAX(v)": 2},
        {"k": "b", "COUNT(*)": 2, "n": 2, "AVG(v)": 2.25, "SUM(v)": 4.5, "MIN(v)": 1.5,
         "MAX(v)": 3.0},
        {"k": 5, "COUNT(*)": 1, "n": 1, "AVG(v)": 0.0, "SUM(v)": 0, "MIN(v)": 0, "MAX(v)": 0},
        {"k": 0, "COUNT(*)": 1, "n": 1, "AVG(v)": 4.0, "SUM(v)": 4, "MIN(v)": 4, "MAX(v)": 4},
    ]  # fmt: skip


def test_aggregate_floats_are_packed_as_c_floats() -> None:
    out = aggregate("SELECT AVG(v), SUM(v) FROM TAG:'t';", [{"v": 0.1}, {"v": 0.2}])
    assert out == [{"AVG(v)": float32((0.1 + 0.2) / 2), "SUM(v)": float32(0.1 + 0.2)}]


def test_timeseries_forecast() -> None:
    records = [{"v": 10 + 2 * i} for i in range(5)]  # one per second, slope 2
    out = aggregate("SELECT TIMESERIES_FORECAST(v, 10) AS f FROM TAG:'t';", records)
    assert out == [{"f": pytest.approx(10 + 2 * (4 + 10), rel=1e-6)}]
    constant = aggregate("SELECT TIMESERIES_FORECAST(v, 10) FROM TAG:'t';", [{"v": 1}])
    assert constant[0]["TIMESERIES_FORECAST(v)"] != constant[0]["TIMESERIES_FORECAST(v)"]


def test_aggregate_without_matches_emits_nothing() -> None:
    assert aggregate("SELECT COUNT(*) FROM TAG:'t' WHERE a = 1;", [{"a": 2}]) == []
