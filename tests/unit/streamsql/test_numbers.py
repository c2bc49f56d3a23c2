"""Numbers in stream SQL (LIMIT, window sizes, forecast horizons, literals) through the CLI.

Fluent Bit 5.1.1 (sql.l) lexes ``-?[1-9][0-9]*|0`` as an integer, so ``LIMIT -1`` and a
negative forecast horizon are valid there: ``LIMIT`` is only read by snapshots, where a value
<= 0 sets no record bound. Whatever logtide does not take as Fluent Bit does is one error
line with the ``Exec`` line's ``file:line``, then the query and a caret; never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logtide import streamsql
from logtide.agent.core.errors import Location
from logtide.agent.core.events import Ack, Chunk
from logtide.streamsql import StreamProcessor, StreamTask
from tests.support.cli import run_logtide

_CONFIG = """[SERVICE]
    Streams_File streams.conf
[INPUT]
    Name dummy
    Tag  a
[OUTPUT]
    Name  null
    Match *
"""


def dry_run(tmp_path: Path, *statements: str) -> tuple[int, str]:
    tasks = "".join(
        f"[STREAM_TASK]\n    Name t{i}\n    Exec {sql}\n" for i, sql in enumerate(statements)
    )
    (tmp_path / "streams.conf").write_text(tasks)
    (tmp_path / "fluent-bit.conf").write_text(_CONFIG)
    result = run_logtide("-c", "fluent-bit.conf", "--dry-run", cwd=str(tmp_path))
    return result.returncode, result.stderr


SNAPSHOT = "CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a' LIMIT {};"
BAD = [
    # Fluent Bit takes these as an unbounded snapshot (only LIMIT 0 without seconds fails).
    (SNAPSHOT.format("-1"), "snapshot 's' needs a size", "-1"),
    (SNAPSHOT.format("0"), "snapshot 's' needs a size", "0"),
    (
        "CREATE SNAPSHOT s WITH (tag='x', seconds='-5') AS SELECT * FROM TAG:'a' LIMIT -1;",
        "snapshot 's' needs a size",
        "-1;",
    ),
    # Fluent Bit's lexer drops the '-' (a bad character) and reads the positive number.
    ("SELECT a FROM TAG:'a' LIMIT -0;", "'-0' is not a number in Fluent Bit", "-0;"),
    ("SELECT a FROM TAG:'a' WHERE v = -0.5;", "'-0.5' is not a number in Fluent Bit", "-0.5"),
    (
        "SELECT TIMESERIES_FORECAST(v, -0) FROM TAG:'a';",
        "'-0' is not a number in Fluent Bit",
        "-0)",
    ),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (-5 SECOND);",
        "a window duration must be positive",
        "-5",
    ),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (0 MINUTE);",
        "a window duration must be positive",
        "0 MINUTE",
    ),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW HOPPING (10 SECOND, ADVANCE BY 0 SECOND);",
        "a window duration must be positive",
        "0 SECOND)",
    ),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW HOPPING (-10 SECOND, ADVANCE BY 1 SECOND);",
        "a window duration must be positive",
        "-10",
    ),
    (
        "SELECT a FROM TAG:'a' LIMIT 99999999999999999999;",
        "integer 99999999999999999999 is out of range (32 bits)",
        "9999",
    ),
    (
        "SELECT a FROM TAG:'a' LIMIT -2147483649;",
        "integer -2147483649 is out of range (32 bits)",
        "-2147483649",
    ),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (99999999999999999999 SECOND);",
        "out of range (32 bits)",
        "9999",
    ),
    (
        "SELECT TIMESERIES_FORECAST(v, -99999999999999999999) FROM TAG:'a';",
        "out of range (32 bits)",
        "-9999",
    ),
    ("SELECT a FROM TAG:'a' LIMIT 1.5;", "expected a record count after LIMIT, got '1.5'", "1.5"),
    ("SELECT a FROM TAG:'a' LIMIT - 1;", "expected a record count after LIMIT, got '-'", "- 1"),
]


@pytest.mark.parametrize(("sql", "message", "at"), BAD, ids=[sql for sql, _, _ in BAD])
def test_bad_numbers_are_one_error_line_at_dry_run(
    tmp_path: Path, sql: str, message: str, at: str
) -> None:
    code, stderr = dry_run(tmp_path, sql)
    assert code == 1
    assert "Traceback" not in stderr
    first, query_line, caret_line = stderr.strip("\n").split("\n")
    assert first.startswith(f"logtide: error: {tmp_path}/streams.conf:3: stream task 't0': ")
    assert message in first
    assert query_line == f"    {sql}"
    assert caret_line == " " * (4 + sql.index(at)) + "^"


ACCEPTED = [
    "SELECT a FROM TAG:'a' LIMIT -1;",
    "SELECT a FROM TAG:'a' LIMIT 0;",
    "SELECT a FROM TAG:'a' LIMIT -2147483648;",
    "CREATE STREAM s1 AS SELECT a FROM TAG:'a' LIMIT -1;",
    "CREATE STREAM s2 WITH (tag='y') AS SELECT * FROM TAG:'a' WHERE v > -3 LIMIT -7;",
    "CREATE SNAPSHOT s3 WITH (tag='x', seconds='5') AS SELECT * FROM TAG:'a' LIMIT -1;",
    "SELECT TIMESERIES_FORECAST(v, -10) FROM TAG:'a';",
    "SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (2147483647 HOUR);",
    "SELECT a FROM TAG:'a' WHERE v = -1.5 OR v = -2147483648;",
]


def test_fluent_bit_numbers_are_accepted_at_dry_run(tmp_path: Path) -> None:
    code, stderr = dry_run(tmp_path, *ACCEPTED)
    assert (code, stderr) == (0, "")


def test_limit_on_a_select_is_read_and_ignored_like_fluent_bit() -> None:
    # flb_sp.c reads cmd->limit only for snapshots.
    for limit in ("-1", "0", "1"):
        query = streamsql.compile(f"SELECT a FROM TAG:'t' LIMIT {limit};")
        assert query.statement.limit == int(limit)
        events = [(1.0, {"a": n}) for n in range(3)]
        assert [r for _, r in query.process("t", events)] == [{"a": 0}, {"a": 1}, {"a": 2}]


def test_negative_snapshot_limit_sets_no_record_bound() -> None:
    sp = StreamProcessor(
        [
            StreamTask(
                "snap",
                "CREATE SNAPSHOT s WITH (tag='s', seconds='5') AS SELECT * FROM TAG:'a' LIMIT -1;",
                Location("streams.conf", 3),
            ),
            StreamTask(
                "flush",
                "FLUSH SNAPSHOT s AS SELECT * FROM TAG:'a' WHERE go = true;",
                Location("streams.conf", 6),
            ),
        ]
    )
    results: list[bool] = []
    events: list[tuple[float, dict[str, Any]]] = [(100.0 + n, {"n": n}) for n in range(8)]
    assert sp.process(Chunk("a", events, Ack(results.append), "tail.0")) == []
    out = sp.process(Chunk("a", [(108.0, {"go": True})], Ack(results.append), "tail.0"))
    # Only the 5 seconds bound applies: 103..108 are kept, however many records that is.
    assert [r for _, r in out[0].events] == [{"n": n} for n in range(3, 8)] + [{"go": True}]


def test_negative_forecast_horizon_looks_back() -> None:
    query = streamsql.compile("SELECT TIMESERIES_FORECAST(v, -3) AS f FROM TAG:'t';")
    events = [(100.0 + s, {"v": 10 + 2 * s}) for s in range(5)]  # slope 2, last x is 4
    assert [r for _, r in query.process("t", events)] == [{"f": pytest.approx(10 + 2 * 1)}]
