"""The statement grammar: what parses, what it means, and the caret errors."""

from __future__ import annotations

import pytest

from logtide import streamsql
from logtide.agent.core.errors import Location, QueryError
from logtide.streamsql import StreamProcessor, StreamTask

VALID = [
    "CREATE STREAM ca WITH (tag='states.ca') AS SELECT * FROM TAG:'order*' WHERE state = 'CA';",
    "create stream ca as select * from tag:'order*' where state <> 'CA';",
    "CREATE STREAM s WITH (tag='x', routable='false') AS SELECT a FROM STREAM:tail.0;",
    "SELECT id AS i, customer['address']['zip'] FROM TAG:'a' WHERE x != 1;",
    "SELECT RECORD_TAG(), RECORD_TIME() AS t, NOW(), UNIX_TIMESTAMP() FROM TAG:'a';",
    "SELECT COUNT(*), COUNT(a), AVG(a), SUM(a['b']), MIN(a), MAX(a) FROM TAG:'a';",
    "SELECT k, TIMESERIES_FORECAST(v, 30) FROM TAG:'a' WINDOW TUMBLING (1 MINUTE) GROUP BY k;",
    "SELECT COUNT(*) FROM TAG:'a' WINDOW HOPPING (1 HOUR, ADVANCE BY 10 MINUTE) WHERE a > -1.5;",
    "SELECT * FROM TAG:'a' WHERE @record.contains(k) AND @record.time() >= 10;",
    "SELECT * FROM TAG:'a' WHERE a IS NULL OR b IS NOT NULL;",
    "SELECT * FROM TAG:'a' WHERE NOT (a = 'x''y') AND true;",
    "SELECT a FROM TAG:'a' GROUP BY a LIMIT 5;",
    "CREATE SNAPSHOT snap WITH (tag='s', seconds='10') AS SELECT * FROM TAG:'a';",
    "CREATE SNAPSHOT snap WITH (tag='s') AS SELECT * FROM TAG:'a' LIMIT 10;",
    "FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'a' WHERE level = 'error';",
    "FLUSH SNAPSHOT snap WITH (tag='f') AS SELECT * FROM TAG:'a';",
    "SELECT kubernetes.pod_name FROM TAG:'kube.*' WHERE kubernetes.namespace = 'x';",
]


@pytest.mark.parametrize("sql", VALID)
def test_valid_statements_compile(sql: str) -> None:
    streamsql.compile(sql)


def test_statement_plan() -> None:
    query = streamsql.compile(
        "CREATE STREAM s WITH (tag='out', routable='off') AS SELECT a AS x, b['c'], "
        "COUNT(*), AVG(d['e']) FROM STREAM:tail.0 WINDOW HOPPING (10 SECOND, ADVANCE BY 2 "
        "SECOND) GROUP BY a, b['c'] LIMIT 3;"
    )
    st = query.statement
    assert (st.kind, st.name, st.tag, st.routable) == ("stream", "s", "out", False)
    assert (st.source_kind, st.source) == ("stream", "tail.0")
    assert [k.output for k in st.keys] == ["x", "b['c']", "COUNT(*)", "AVG(d['e'])"]
    assert [k.group_index for k in st.keys[:2]] == [0, 1]
    assert (st.window.kind, st.window.size, st.window.advance) == ("HOPPING", 10, 2)
    assert st.aggregate and st.limit == 3


def test_default_tag_is_the_stream_name() -> None:
    assert streamsql.compile("CREATE STREAM Mine AS SELECT * FROM TAG:'a';").statement.tag == (
        "Mine"
    )
    flush = streamsql.compile("FLUSH SNAPSHOT s AS SELECT * FROM TAG:'a';").statement
    assert flush.tag == "__flush_s"


def test_property_names_are_case_sensitive_like_fluent_bit() -> None:
    st = streamsql.compile("CREATE STREAM s WITH (Tag='x') AS SELECT * FROM TAG:'a';").statement
    assert st.tag == "s"


INVALID = [
    ("SELECT * FROM TAG:'a' WHERE x = 1", "expected ';', got the end of the query", 33),
    ("SELECT * FROM TAG:'a' WHERE x == 1;", "expected ';', got '=='", 30),
    ("SELECT count FROM TAG:'a';", "expected '(' after COUNT, got 'FROM'", 13),
    ("SELECT * FROM TAG:'a' WHERE time = 1;", "reserved word 'time'", 28),
    ("SELECT * FROM TAG :'a';", "expected TAG:'pattern' or STREAM:name, got 'TAG'", 14),
    ("SELECT a FROM TAG:'a' WHERE x = 1 WINDOW TUMBLING (1 SECOND);", "got 'WINDOW'", 34),
    ("SELECT * FROM TAG:'a' WHERE x = 'abc;", "expected a closing quote", 32),
    ("SELECT * FROM TAG:'a' WHERE x = 1e5;", "expected a number like 5, -5 or 5.5", 32),
    ("SELECT * FROM TAG:'a' WHERE x = 9999999999;", "out of range", 32),
    ("SELECT id, * FROM TAG:'a';", "'*' can only be the first entry", 11),
    ("SELECT a, COUNT(*) FROM TAG:'a';", "not 'a'", 7),
    (
        "SELECT COUNT(*) FROM TAG:'a' WINDOW HOPPING (5 SECOND, ADVANCE BY 5 SECOND);",
        "ADVANCE BY",
        66,
    ),
    ("SELECT * FROM TAG:'a' WHERE x = null;", "expected a value", 32),
    ("UPDATE x;", "expected CREATE STREAM, CREATE SNAPSHOT, FLUSH SNAPSHOT or SELECT", 0),
    # sqlglot's statement driver returns nothing for a leading ELSE (its IF blocks).
    ("  ELSE;", "expected CREATE STREAM, CREATE SNAPSHOT, FLUSH SNAPSHOT or SELECT, got 'ELSE'", 2),
    ("SELECT * FROM TAG:'a'; SELECT", "nothing after the closing ';'", 23),
    ("CREATE SNAPSHOT s AS SELECT * FROM TAG:'a' LIMIT 5;", "needs a tag", 0),
    ("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a';", "needs a size", 0),
    ("CREATE STREAM s WITH (routable='maybe') AS SELECT * FROM TAG:'a';", "routable", 0),
    ("SELECT * FROM TAG:'a' WHERE a = 1 AND;", "expected a condition", 37),
]


@pytest.mark.parametrize(("sql", "message", "offset"), INVALID)
def test_errors_show_query_caret_and_expectation(sql: str, message: str, offset: int) -> None:
    with pytest.raises(QueryError) as caught:
        streamsql.compile(sql, Location("streams.conf", 3))
    text = str(caught.value)
    first, query_line, caret_line = text.split("\n")
    assert first.startswith("streams.conf:3: ")
    assert message in first
    assert query_line == f"    {sql}"
    assert caret_line == " " * (4 + offset) + "^"


def test_processor_error_names_the_task_and_location() -> None:
    task = StreamTask("bad", "SELECT FROM TAG:'a';", Location("streams.conf", 7))
    with pytest.raises(QueryError) as caught:
        StreamProcessor([task])
    assert str(caught.value).startswith("streams.conf:7: stream task 'bad': expected a key")


def test_duplicate_stream_names_are_rejected() -> None:
    tasks = [
        StreamTask("one", "CREATE STREAM s AS SELECT * FROM TAG:'a';", Location("f", 1)),
        StreamTask("two", "CREATE STREAM S AS SELECT * FROM TAG:'b';", Location("f", 2)),
    ]
    with pytest.raises(QueryError, match="already used by stream task 'one'"):
        StreamProcessor(tasks)
    with pytest.raises(QueryError, match="already used by an input"):
        StreamProcessor(tasks[:1], inputs=["s"])
