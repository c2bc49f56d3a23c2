import uuid

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.filters.nest import NestFilter
from logtide.agent.filters.record_modifier import RecordModifierFilter
from tests.unit.filters.helpers import make, run


def test_record_appends_in_order_and_overwrites_in_place():
    filt = make(RecordModifierFilter, Record=["host node-1", 'msg "a b"', "a new"])
    assert list(run(filt, {"a": 1, "b": 2})[0].items()) == [
        ("a", "new"),
        ("b", 2),
        ("host", "node-1"),
        ("msg", "a b"),
    ]


def test_remove_key_case_insensitive_and_prefix():
    filt = make(RecordModifierFilter, Remove_key=["Secret", "tmp*"])
    assert run(filt, {"secret": 1, "TMP_x": 2, "keep": 3}) == [{"keep": 3}]


def test_allowlist_and_whitelist():
    filt = make(RecordModifierFilter, Allowlist_key="log", Whitelist_key="k8s*")
    assert run(filt, {"log": 1, "k8s_pod": 2, "other": 3}) == [{"log": 1, "k8s_pod": 2}]


def test_record_left_empty_is_dropped():
    filt = make(RecordModifierFilter, Allowlist_key="nothing")
    assert run(filt, {"a": 1}) == []


def test_uuid_key():
    out = run(make(RecordModifierFilter, Uuid_key="id"), {"a": 1}, {"a": 2})
    ids = [uuid.UUID(r["id"]) for r in out]
    assert ids[0].version == 4 and ids[0] != ids[1]


def test_record_modifier_config_errors():
    with pytest.raises(ConfigError, match="exclusive"):
        make(RecordModifierFilter, Remove_key="a", Allowlist_key="b")
    with pytest.raises(ConfigError, match="KEY VALUE"):
        make(RecordModifierFilter, Record="k v1 v2")


def test_nest_with_wildcards_and_prefix():
    filt = make(
        NestFilter, Operation="nest", Wildcard=["Mem.*", "cpu"], Nest_under="stats", Add_prefix="p_"
    )
    out = run(filt, {"Mem.used": 1, "host": "h", "cpu": 2, "Swap": 3})
    assert list(out[0].items()) == [
        ("host", "h"),
        ("Swap", 3),
        ("stats", {"p_Mem.used": 1, "p_cpu": 2}),
    ]
    assert run(filt, {"x": 1}) == [{"x": 1}]


def test_lift_with_remove_prefix():
    filt = make(NestFilter, Operation="lift", Nested_under="k", Remove_prefix="k_")
    out = run(filt, {"k": {"k_a": 1, "b": 2}, "z": 0})
    assert list(out[0].items()) == [("z", 0), ("a", 1), ("b", 2)]
    assert run(filt, {"k": "not a map"}) == [{"k": "not a map"}]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"Operation": "nest", "Wildcard": "a"}, "Nest_under"),
        ({"Operation": "lift"}, "Nested_under"),
        (
            {"Operation": "lift", "Nested_under": "k", "Add_prefix": "a", "Remove_prefix": "b"},
            "exclusive",
        ),
        ({"Operation": "flatten"}, "expected one of"),
    ],
)
def test_nest_config_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make(NestFilter, **options)
