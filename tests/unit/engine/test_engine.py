from __future__ import annotations

from logtide.agent.api import Pipeline

STREAM = """
[INPUT]
    Name      lib
    Tag       order
    Routable  {routable}
[STREAM_TASK]
    Name  ca
    Exec  CREATE STREAM ca WITH (tag='states.ca') AS SELECT id FROM TAG:'order' WHERE state = 'CA';
[OUTPUT]
    Name   lib
    Match  *
"""


async def test_non_routable_input_still_feeds_stream_tasks() -> None:
    async with Pipeline.from_string(STREAM.format(routable="false")).running() as p:
        p.push("order", [{"id": 1, "state": "CA"}, {"id": 2, "state": "NY"}])
        assert await p.drain() == 0
    assert p.output("lib").events == [("states.ca", p.output("lib").events[0][1], {"id": 1})]


async def test_routable_input_reaches_outputs_beside_its_stream() -> None:
    async with Pipeline.from_string(STREAM.format(routable="true")).running() as p:
        p.push("order", [{"id": 1, "state": "CA"}])
        await p.drain()
    assert sorted(tag for tag, _, _ in p.output("lib").events) == ["order", "states.ca"]


async def test_chunk_routed_nowhere_is_acknowledged_and_filter_drops_count() -> None:
    config = """
[INPUT]
    Name lib
    Tag  x
[FILTER]
    Name     grep
    Match    x
    Exclude  drop yes
[OUTPUT]
    Name   lib
    Match  x
"""
    async with Pipeline.from_string(config).running() as p:
        p.push("x", [{"drop": "yes"}, {"drop": "no"}])
        p.push("elsewhere", {"a": 1})
        assert await p.drain() == 0
    assert p.output("lib").records == [{"drop": "no"}]
    assert p.metrics()["grep.0"]["drop_records"] == 1


SHARED = """
[INPUT]
    Name  lib
    Tag   order
[STREAM_TASK]
    Name  ca
    Exec  CREATE STREAM ca WITH (tag='states.ca') AS SELECT * FROM TAG:'order' WHERE state = 'CA';
{filter}
[OUTPUT]
    Name   lib
    Match  *
"""

MARK_CA = """
[FILTER]
    Name   modify
    Match  states.*
    Add    seen_by_ca_filter yes
"""


async def test_filter_on_a_stream_result_changes_the_result_only() -> None:
    # The result's records are copies when a filter matches its tag: the filter's change
    # must not reach the same record travelling on under the source tag.
    async with Pipeline.from_string(SHARED.format(filter=MARK_CA)).running() as p:
        p.push("order", [{"id": 1, "state": "CA"}])
        assert await p.drain() == 0
    by_tag = {tag: record for tag, _, record in p.output("lib").events}
    assert by_tag == {
        "order": {"id": 1, "state": "CA"},
        "states.ca": {"id": 1, "state": "CA", "seen_by_ca_filter": "yes"},
    }


async def test_unfiltered_stream_result_shares_the_source_record() -> None:
    async with Pipeline.from_string(SHARED.format(filter="")).running() as p:
        p.push("order", [{"id": 1, "state": "CA"}, {"id": 2, "state": "NY"}])
        assert await p.drain() == 0
    events = p.output("lib").events
    by_tag = {tag: [r for t, _, r in events if t == tag] for tag, _, _ in events}
    assert by_tag == {
        "order": [{"id": 1, "state": "CA"}, {"id": 2, "state": "NY"}],
        "states.ca": [{"id": 1, "state": "CA"}],
    }
    assert by_tag["states.ca"][0] is by_tag["order"][0]
