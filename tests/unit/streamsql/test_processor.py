"""StreamProcessor: routing of derived chunks, chaining, windows, snapshots, acknowledgements."""

from __future__ import annotations

from typing import Any

from logtide.agent.core.errors import Location
from logtide.agent.core.events import Ack, Chunk
from logtide.streamsql import StreamProcessor, StreamTask


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Source:
    """A parent chunk's acknowledgement whose outcome the test can read."""

    def __init__(self) -> None:
        self.results: list[bool] = []
        self.ack = Ack(self.results.append)

    def chunk(self, tag: str, records: list[dict[str, Any]], source: str = "tail.0") -> Chunk:
        return Chunk(tag, [(1.0 + i, r) for i, r in enumerate(records)], self.ack, source)


def processor(*statements: str, clock: Clock | None = None, **kw: Any) -> StreamProcessor:
    tasks = [
        StreamTask(f"t{i}", sql, Location("streams.conf", i)) for i, sql in enumerate(statements)
    ]
    return StreamProcessor(tasks, clock=clock or Clock(), **kw)


def records(chunk: Chunk) -> list[dict[str, Any]]:
    return [r for _, r in chunk.events]


def test_article_tasks_split_records_and_share_the_parent_ack() -> None:
    sp = processor(
        "CREATE STREAM CA_SALES WITH (tag='states.ca') AS SELECT * FROM TAG:'order*' WHERE state = 'CA';",
        "CREATE STREAM NOTCA WITH (tag='states.notca') AS SELECT * FROM TAG:'order*' WHERE state <> 'CA';",
    )
    src = Source()
    out = sp.process(src.chunk("orders.app", [{"state": "CA"}, {"state": "NY"}, {}]))
    assert [(c.tag, c.source, records(c)) for c in out] == [
        ("states.ca", "CA_SALES", [{"state": "CA"}]),
        ("states.notca", "NOTCA", [{"state": "NY"}]),
    ]
    assert all(c.ack is src.ack for c in out)
    src.ack.settle(True)  # the caller's own hold on the parent
    assert src.results == []
    out[0].ack.settle(True)
    assert src.results == []
    out[1].ack.settle(False)
    assert src.results == [False]


def test_no_match_no_chunk_no_hold() -> None:
    sp = processor("CREATE STREAM s AS SELECT * FROM TAG:'x*' WHERE a = 1;")
    src = Source()
    assert sp.process(src.chunk("x.y", [{"a": 2}])) == []
    assert sp.process(src.chunk("other", [{"a": 1}])) == []
    src.ack.settle(True)
    assert src.results == [True]


def test_streams_chain_by_name_and_by_tag_but_never_into_themselves() -> None:
    sp = processor(
        "CREATE STREAM s1 WITH (tag='x.first') AS SELECT * FROM TAG:'x*';",
        "CREATE STREAM s2 WITH (tag='y.second') AS SELECT a FROM STREAM:s1;",
        "CREATE STREAM third WITH (tag='z') AS SELECT a AS b FROM TAG:'y.*';",
    )
    src = Source()
    out = sp.process(src.chunk("x.in", [{"a": 1, "c": 2}]))
    assert [(c.tag, records(c)) for c in out] == [
        ("x.first", [{"a": 1, "c": 2}]),
        ("y.second", [{"a": 1}]),
        ("z", [{"b": 1}]),
    ]
    for chunk in out:
        chunk.ack.settle(True)
    src.ack.settle(True)
    assert src.results == [True]


def test_cycles_between_streams_stop() -> None:
    sp = processor(
        "CREATE STREAM a WITH (tag='loop.a') AS SELECT * FROM TAG:'loop.*';",
        "CREATE STREAM b WITH (tag='loop.b') AS SELECT * FROM STREAM:a;",
    )
    out = sp.process(Source().chunk("loop.in", [{"k": 1}]))
    # in -> a -> b -> (a refuses: it produced this lineage); in -> b? no: b reads STREAM:a only.
    assert [c.tag for c in out] == ["loop.a", "loop.b"]


def test_stream_source_matches_input_alias_case_insensitively() -> None:
    sp = processor("CREATE STREAM s AS SELECT * FROM STREAM:Orders_In;")
    src = Source()
    assert [c.tag for c in sp.process(src.chunk("any", [{"a": 1}], source="orders_in"))] == ["s"]
    assert sp.process(src.chunk("any", [{"a": 1}], source="tail.0")) == []


def test_non_routable_stream_feeds_others_only() -> None:
    sp = processor(
        "CREATE STREAM hidden WITH (tag='h', routable='false') AS SELECT * FROM TAG:'in';",
        "CREATE STREAM seen WITH (tag='s') AS SELECT * FROM STREAM:hidden;",
    )
    src = Source()
    out = sp.process(src.chunk("in", [{"a": 1}]))
    assert [c.tag for c in out] == ["s"]
    out[0].ack.settle(True)
    src.ack.settle(True)
    assert src.results == [True]


def test_tumbling_window_holds_parents_until_its_result_is_delivered() -> None:
    clock = Clock(1000.0)
    sp = processor(
        "CREATE STREAM w WITH (tag='agg') AS SELECT k, COUNT(*) FROM TAG:'in' "
        "WINDOW TUMBLING (5 SECOND) GROUP BY k;",
        clock=clock,
    )
    first, second = Source(), Source()
    assert sp.process(first.chunk("in", [{"k": "a"}, {"k": "b"}])) == []
    assert sp.process(second.chunk("in", [{"k": "a"}])) == []
    first.ack.settle(True)
    second.ack.settle(True)
    assert first.results == second.results == []
    assert sp.next_deadline() == 1005.0
    assert sp.tick(1004.9) == []
    out = sp.tick(1005.0)
    assert [(c.tag, c.source, records(c)) for c in out] == [
        ("agg", "w", [{"k": "a", "COUNT(*)": 2}, {"k": "b", "COUNT(*)": 1}])
    ]
    assert out[0].events[0][0] == 1005.0
    assert first.results == []
    out[0].ack.settle(True)
    assert first.results == second.results == [True]
    assert sp.next_deadline() == 1010.0
    assert sp.tick(1010.0) == []


def test_window_failure_reaches_the_parents() -> None:
    sp = processor("CREATE STREAM w AS SELECT COUNT(*) FROM TAG:'in' WINDOW TUMBLING (1 SECOND);")
    src = Source()
    sp.process(src.chunk("in", [{"k": 1}]))
    src.ack.settle(True)
    out = sp.flush()
    assert records(out[0]) == [{"COUNT(*)": 1}]
    out[0].ack.settle(False)
    assert src.results == [False]
    assert sp.flush() == []


def test_hopping_window_covers_the_last_size_seconds() -> None:
    clock = Clock(0.0)
    sp = processor(
        "CREATE STREAM h AS SELECT COUNT(*), SUM(v) FROM TAG:'in' "
        "WINDOW HOPPING (4 SECOND, ADVANCE BY 2 SECOND);",
        clock=clock,
    )
    sources = []
    for second, value in [(0.5, 1), (2.5, 10), (4.5, 100)]:
        clock.now = second
        src = Source()
        sp.process(src.chunk("in", [{"v": value}]))
        src.ack.settle(True)
        sources.append(src)
    assert sp.tick(3.9) == []
    at4 = sp.tick(4.0)
    assert [records(c) for c in at4] == [[{"COUNT(*)": 2, "SUM(v)": 11}]]
    at6 = sp.tick(6.0)
    assert [records(c) for c in at6] == [[{"COUNT(*)": 2, "SUM(v)": 110}]]
    at4[0].ack.settle(True)
    assert sources[0].results == [True]  # its slot left the window at 6 and was delivered
    assert sources[1].results == []  # still waiting for the 6-second result
    at6[0].ack.settle(True)
    assert sources[1].results == [True]  # [2, 4) is not in the 8-second window [4, 8)
    assert sources[2].results == []
    rest = sp.flush()
    assert [records(c) for c in rest] == [[{"COUNT(*)": 1, "SUM(v)": 100}]]
    rest[0].ack.settle(True)
    assert [s.results for s in sources] == [[True], [True], [True]]


def test_aggregate_without_window_emits_per_chunk() -> None:
    sp = processor("CREATE STREAM c AS SELECT COUNT(*) AS n FROM TAG:'in';")
    src = Source()
    out = sp.process(src.chunk("in", [{}, {}, {}]))
    assert [records(c) for c in out] == [[{"n": 3}]]
    assert out[0].ack is src.ack


def test_snapshot_keeps_the_last_records_and_a_flush_emits_them() -> None:
    sp = processor(
        "CREATE SNAPSHOT snap WITH (tag='snap') AS SELECT * FROM TAG:'app' LIMIT 2;",
        "FLUSH SNAPSHOT snap WITH (tag='incident') AS SELECT * FROM TAG:'app' WHERE level = 'error';",
    )
    old, new = Source(), Source()
    assert sp.process(old.chunk("app", [{"n": 1}, {"n": 2}])) == []
    assert sp.process(new.chunk("app", [{"n": 3, "level": "error"}])) != []
    old.ack.settle(True)
    # n=1 was evicted by LIMIT 2 (consumed), n=2 is in the flushed chunk.
    assert old.results == []


def test_snapshot_flush_waits_for_delivery() -> None:
    sp = processor(
        "CREATE SNAPSHOT snap WITH (tag='snap', seconds='5') AS SELECT * FROM TAG:'app';",
        "FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'app' WHERE level = 'error';",
    )
    src = Source()
    chunk = Chunk("app", [(100.0, {"n": 1}), (103.0, {"n": 2}), (106.0, {"n": 3})], src.ack, "a")
    assert sp.process(chunk) == []
    trigger = Source()
    out = sp.process(Chunk("app", [(107.0, {"level": "error"})], trigger.ack, "a"))
    assert [(c.tag, c.source) for c in out] == [("__flush_snap", "__flush_snap")]
    assert [r for _, r in out[0].events] == [{"n": 2}, {"n": 3}, {"level": "error"}]
    src.ack.settle(True)
    trigger.ack.settle(True)
    assert src.results == trigger.results == []
    out[0].ack.settle(True)
    assert src.results == trigger.results == [True]


def test_flush_releases_snapshots() -> None:
    sp = processor("CREATE SNAPSHOT s WITH (tag='s') AS SELECT * FROM TAG:'a' LIMIT 10;")
    src = Source()
    sp.process(src.chunk("a", [{"x": 1}]))
    src.ack.settle(True)
    assert sp.flush() == [] and src.results == [True]


def test_bare_select_prints_instead_of_routing() -> None:
    printed: list[tuple[str, list[Any]]] = []
    sp = processor(
        "SELECT a FROM TAG:'in';", printer=lambda tag, events: printed.append((tag, events))
    )
    src = Source()
    assert sp.process(src.chunk("in", [{"a": 1}])) == []
    assert printed == [("", [(1.0, {"a": 1})])]
    src.ack.settle(True)
    assert src.results == [True]


def test_select_star_copies_unless_no_filter_touches_the_result_tag() -> None:
    sql = "CREATE STREAM s WITH (tag='out') AS SELECT * FROM TAG:'in';"
    record = {"a": 1}
    for filtered, shared in (
        (None, False),
        (lambda tag: tag == "out", False),
        (lambda tag: False, True),
    ):
        [result] = processor(sql, filtered=filtered).process(Source().chunk("in", [record]))
        assert records(result) == [record]
        assert (result.events[0][1] is record) is shared
