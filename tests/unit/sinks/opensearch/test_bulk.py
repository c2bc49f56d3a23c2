"""Bulk items as Fluent Bit's opensearch/es outputs compose them: index names, the time and
tag keys, ids, Replace_Dots, write operations, and the request size bound."""

from __future__ import annotations

import base64
import calendar
import tracemalloc
from typing import Any

import orjson
import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.sinks.opensearch import ElasticsearchOutput, OpenSearchOutput
from logtide.sinks.opensearch.bulk import BuildStats, BulkBuilder, BulkItem, split_requests
from logtide.sinks.opensearch.options import OpenSearchSettings
from tests.support.plugins import settings_for

# 2026-03-04T05:06:07.123456789Z
T = calendar.timegm((2026, 3, 4, 5, 6, 7)) + 0.123456789


def builder(plugin: type[OpenSearchOutput] = OpenSearchOutput, **options: Any) -> BulkBuilder:
    config = plugin.config_class.bind(settings_for(plugin, **options))
    assert isinstance(config, OpenSearchSettings)
    return BulkBuilder(config)


def items(b: BulkBuilder, events: list[Event], tag: str = "kube.app") -> list[BulkItem]:
    return b.build(tag, events, BuildStats())


def lines(item: BulkItem) -> tuple[dict[str, Any], dict[str, Any]]:
    return orjson.loads(item.action), orjson.loads(item.source)


def test_defaults_create_in_index_with_type_and_timestamp() -> None:
    (item,) = items(builder(), [(T, {"log": "x"})])
    assert item.action == b'{"create":{"_index":"fluent-bit","_type":"_doc"}}\n'
    assert item.source == b'{"@timestamp":"2026-03-04T05:06:07.123Z","log":"x"}\n'


def test_logstash_format_names_the_index_by_the_records_date() -> None:
    b = builder(Logstash_Format="On", Logstash_Prefix="node", Suppress_Type_Name="On")
    day2 = T + 86400
    (one, two) = items(b, [(T, {"a": 1}), (day2, {"a": 2})])
    assert lines(one)[0] == {"create": {"_index": "node-2026.03.04"}}
    assert lines(two)[0] == {"create": {"_index": "node-2026.03.05"}}
    b = builder(Logstash_Format="On", Logstash_DateFormat="%Y-%m", Logstash_Prefix_Separator="_")
    assert lines(items(b, [(T, {})])[0])[0]["create"]["_index"] == "logstash_2026-03"


def test_logstash_prefix_key_takes_the_records_value_and_falls_back() -> None:
    b = builder(Logstash_Format="On", Logstash_Prefix_Key="$kubernetes['namespace_name']")
    found, missing = items(b, [(T, {"kubernetes": {"namespace_name": "shop"}}), (T, {})])
    assert lines(found)[0]["create"]["_index"] == "shop-2026.03.04"
    assert lines(missing)[0]["create"]["_index"] == "logstash-2026.03.04"
    bare = builder(Logstash_Format="On", Logstash_Prefix_Key="team")
    assert lines(items(bare, [(T, {"team": "a"})])[0])[0]["create"]["_index"] == "a-2026.03.04"


def test_index_record_accessor_for_opensearch_literal_for_es() -> None:
    b = builder(Index="logs-$TAG[1]")
    assert lines(items(b, [(T, {})])[0])[0]["create"]["_index"] == "logs-app"
    e = builder(ElasticsearchOutput, Index="logs-$TAG[1]")
    assert lines(items(e, [(T, {})])[0])[0]["create"]["_index"] == "logs-$TAG[1]"


def test_time_key_format_nanos_and_tag_key() -> None:
    b = builder(
        Time_Key="ts", Time_Key_Format="%Y%m%d%H%M%S", Time_Key_Nanos="On", Include_Tag_Key="On"
    )
    source = lines(items(b, [(T, {"ts": "mine", "x": 1})])[0])[1]
    # The record's own key keeps its value: no document holds a key twice.
    assert source == {"ts": "mine", "flb-key": "kube.app", "x": 1}
    source = lines(items(b, [(int(T) + 0.25, {"x": 1})])[0])[1]
    assert source["ts"] == "20260304050607.250000000Z"
    b = builder(Include_Tag_Key="On", Tag_Key="tag")
    assert lines(items(b, [(T, {})])[0])[1]["tag"] == "kube.app"


def test_replace_dots_in_nested_keys() -> None:
    b = builder(Replace_Dots="On")
    record = {"a.b": {"c.d": [{"e.f": 1}]}, "g": "h.i"}
    source = lines(items(b, [(T, record)])[0])[1]
    assert source["a_b"] == {"c_d": [{"e_f": 1}]} and source["g"] == "h.i"


def test_generate_id_is_stable_and_depends_on_content_and_time() -> None:
    b = builder(Generate_ID="On")
    first = lines(items(b, [(T, {"log": "x"})])[0])[0]["create"]["_id"]
    again = lines(items(builder(Generate_ID="On"), [(T, {"log": "x"})])[0])[0]["create"]["_id"]
    other_time = lines(items(b, [(T + 1e-6, {"log": "x"})])[0])[0]["create"]["_id"]
    other_log = lines(items(b, [(T, {"log": "y"})])[0])[0]["create"]["_id"]
    assert first == again
    assert len({first, other_time, other_log}) == 3
    assert len(first) == 36 and first.count("-") == 4


def test_id_key_and_update_upsert_bodies() -> None:
    b = builder(Id_Key="$meta['id']", Write_Operation="upsert")
    stats = BuildStats()
    kept = b.build("t", [(T, {"meta": {"id": "7"}, "v": 1}), (T, {"v": 2})], stats)
    assert stats.missing_id == 1 and len(kept) == 1
    action, source = lines(kept[0])
    assert action == {"update": {"_index": "fluent-bit", "_type": "_doc", "_id": "7"}}
    assert source["doc_as_upsert"] is True and source["doc"]["v"] == 1
    b = builder(Id_Key="id")
    assert "_id" not in lines(items(b, [(T, {"id": 3})])[0])[0]["create"]  # not a string


def test_update_needs_an_id_and_compress_must_be_gzip() -> None:
    with pytest.raises(ConfigError, match="Id_Key or Generate_ID"):
        builder(Write_Operation="update")
    with pytest.raises(ConfigError, match=r"compress.*expected one of gzip"):
        builder(compress="zstd")
    with pytest.raises(ConfigError, match="AWS_Region"):
        builder(AWS_Auth="On")


def test_es_cloud_id_and_cloud_auth() -> None:
    cloud = "prod:" + base64.b64encode(b"eu-west-1.aws.found.io$abc123$kib").decode()
    config = ElasticsearchOutput.config_class.bind(
        settings_for(ElasticsearchOutput, Cloud_ID=cloud, Cloud_Auth="elastic:pw")
    )
    assert isinstance(config, OpenSearchSettings)
    assert (config.host, config.port, config.tls) == ("abc123.eu-west-1.aws.found.io", 443, True)
    assert (config.http_user, config.http_passwd) == ("elastic", "pw")
    with pytest.raises(ConfigError, match="Cloud_ID"):
        settings_for(ElasticsearchOutput, Cloud_ID="prod:bm90LWl0")


def test_requests_stay_within_the_size_bound() -> None:
    b = builder()
    many = items(b, [(T, {"log": "x" * 100}) for _ in range(50)])
    size = many[0].size
    requests = split_requests(many, limit=size * 10)
    assert [len(r) for r in requests] == [10] * 5
    assert split_requests(many[:1], limit=1) == [many[:1]]  # one larger item goes alone


def test_odd_values_and_times_still_make_documents() -> None:
    b = builder(Logstash_Format="On", Generate_ID="On")
    odd = {"big": 2**70, "raw": b"\xff", 3: "int key"}
    built = items(b, [(float("nan"), odd), (1e13, {"far": True}), (-1e13, {})])
    assert len(built) == 3
    action, source = lines(built[0])
    assert source["big"] == 2**70 and source["raw"] == "\ufffd" and source["3"] == "int key"
    assert action["create"]["_index"] == "logstash-1970.01.01"
    assert lines(built[1])[0]["create"]["_index"] == "logstash-9999.12.31"
    # Year 1: strftime's %Y gives "1" or "0001", by platform (glibc: "1", as Fluent Bit's).
    assert lines(built[2])[0]["create"]["_index"] in ("logstash-1.01.01", "logstash-0001.01.01")


def test_items_held_for_a_request_hold_only_their_own_size() -> None:
    """orjson's bytes keep the buffer they were written in (4 KiB at least); a bulk request
    holds all its items until it is sent, so both lines are copies of their own size."""
    b = builder()
    events: list[Event] = [(1795744014.5, {"n": n, "s": "x" * 100}) for n in range(2000)]
    tracemalloc.start()
    try:
        held = items(b, events)
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(held) == 2000
    assert size < 2000 * 800
