import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.filters.modify import ModifyFilter
from tests.unit.filters.helpers import make, run


def items(filt, record):
    return list(run(filt, record)[0].items())


def test_set_moves_to_end_and_add_only_when_absent():
    filt = make(ModifyFilter, Set=["a X", "n new"], Add=["b Y", "z Z"])
    assert items(filt, {"a": 1, "b": 2}) == [("b", 2), ("a", "X"), ("n", "new"), ("z", "Z")]


def test_quoted_values():
    filt = make(ModifyFilter, Set='msg "hello world"')
    assert run(filt, {})[0] == {"msg": "hello world"}


def test_remove_variants():
    filt = make(ModifyFilter, Remove="a", Remove_wildcard="tmp_", Remove_regex="^x\\d$")
    rec = {"a": 1, "tmp_1": 2, "tmp_2": 3, "x1": 4, "x10": 5, "keep": 6}
    assert run(filt, rec) == [{"x10": 5, "keep": 6}]
    star = make(ModifyFilter, Remove_wildcard="tmp*")
    assert run(star, {"tmp_1": 1, "t": 2}) == [{"t": 2}]


def test_rename_and_hard_rename():
    assert items(make(ModifyFilter, Rename="a b"), {"a": 1, "c": 2}) == [("b", 1), ("c", 2)]
    assert items(make(ModifyFilter, Rename="a c"), {"a": 1, "c": 2}) == [("a", 1), ("c", 2)]
    hard = make(ModifyFilter, Hard_rename="a c")
    assert items(hard, {"a": 1, "b": 0, "c": 2}) == [("c", 1), ("b", 0)]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"x": 0, "a": 1, "c": 2}, ["x", "b", "c"]),
        ({"x": 0, "y": 1, "a": 2}, ["x", "y", "b"]),
        ({"a": 1}, ["b"]),
    ],
)
def test_rename_keeps_the_position_anywhere(record, expected):
    out = run(make(ModifyFilter, Rename="a b"), record)[0]
    assert list(out) == expected
    assert out["b"] == record["a"]


def test_rules_of_a_chunk_run_per_record_in_order():
    filt = make(ModifyFilter, Rename="a b", Set="b new", Add="c x")
    events = [(1.0, {"a": 1}), (2.0, {"z": 0}), (3.0, {"a": 2, "b": 9})]
    assert filt("t", events) == [
        (1.0, {"b": "new", "c": "x"}),
        (2.0, {"z": 0, "b": "new", "c": "x"}),
        (3.0, {"a": 2, "b": "new", "c": "x"}),
    ]


def test_copy_and_hard_copy():
    assert items(make(ModifyFilter, Copy="a b"), {"a": 1, "z": 0}) == [("a", 1), ("b", 1), ("z", 0)]
    assert items(make(ModifyFilter, Copy="a z"), {"a": 1, "z": 0}) == [("a", 1), ("z", 0)]
    assert items(make(ModifyFilter, Hard_copy="a z"), {"z": 0, "a": 1}) == [("a", 1), ("z", 1)]


def test_move_to_start_and_end():
    rec = {"a": 1, "k1": 2, "b": 3, "k2": 4}
    assert list(run(make(ModifyFilter, Move_to_start="k"), rec)[0]) == ["k1", "k2", "a", "b"]
    assert list(run(make(ModifyFilter, Move_to_end="a"), rec)[0]) == ["k1", "b", "k2", "a"]


def test_rules_apply_in_written_order():
    first = make(ModifyFilter, Rename="a b", Set="b new")
    assert run(first, {"a": 1}) == [{"b": "new"}]
    second = make(ModifyFilter, Set="b new", Rename="a b")
    assert run(second, {"a": 1}) == [{"a": 1, "b": "new"}]


@pytest.mark.parametrize(
    ("condition", "applies"),
    [
        ("Key_exists k1", True),
        ("Key_exists $nest['k1']", True),
        ("Key_does_not_exist k3", True),
        ("Key_does_not_exist k1", False),
        ("A_key_matches ^k\\d$", True),
        ("No_key_matches ^z", True),
        ("Key_value_equals k1 v1", True),
        ("Key_value_equals flag true", False),
        ("Key_value_does_not_equal k1 other", True),
        ("Key_value_does_not_equal missing v", False),
        ("Key_value_matches flag ^tr", True),
        ("Key_value_matches n ^1", False),
        ("Key_value_does_not_match k1 ^x", True),
        ("Matching_keys_have_matching_values ^k\\d$ ^v", True),
        ("Matching_keys_do_not_have_matching_values ^k\\d$ ^v", False),
    ],
)
def test_conditions(condition, applies):
    filt = make(ModifyFilter, Condition=condition, Add="done yes")
    rec = {"k1": "v1", "k2": "v2", "flag": True, "n": 1, "nest": {"k1": "x"}}
    assert ("done" in run(filt, rec)[0]) is applies


def test_all_conditions_must_hold():
    filt = make(ModifyFilter, Condition=["Key_exists a", "Key_exists b"], Add="done yes")
    assert "done" not in run(filt, {"a": 1})[0]
    assert "done" in run(filt, {"a": 1, "b": 2})[0]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"Set": "onlykey"}, "KEY VALUE"),
        ({"Set": "k too many words"}, "KEY VALUE"),
        ({"Remove": "a b"}, "expects KEY"),
        ({"Condition": "Key_is_pretty a"}, "unknown Condition"),
        ({"Condition": "Key_value_equals a"}, "takes 2"),
        ({"Remove_regex": "("}, "invalid regular expression"),
        ({"Set": 'k "unterminated'}, "unterminated"),
    ],
)
def test_config_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make(ModifyFilter, **options)


# Container Insights' dataplane/host filters keep three keys with one look-ahead pattern.
CONTAINER_INSIGHTS_KEEP = "^((?!hostname|systemd_unit|message).)*$"


def test_remove_regex_with_look_ahead_keeps_only_the_named_keys():
    filt = make(
        ModifyFilter,
        Rename=["_HOSTNAME hostname", "_SYSTEMD_UNIT systemd_unit", "MESSAGE message"],
        Remove_regex=CONTAINER_INSIGHTS_KEEP,
    )
    journal = {
        "_HOSTNAME": "ip-10-0-1-7",
        "_SYSTEMD_UNIT": "kubelet.service",
        "MESSAGE": "Started pod sandbox",
        "PRIORITY": "6",
        "_PID": "812",
        "SYSLOG_IDENTIFIER": "kubelet",
        "_BOOT_ID": "0f3c",
        "__REALTIME_TIMESTAMP": "1764547200000000",
    }
    assert run(filt, journal) == [
        {
            "hostname": "ip-10-0-1-7",
            "systemd_unit": "kubelet.service",
            "message": "Started pod sandbox",
        }
    ]


def test_remove_regex_look_ahead_keeps_keys_containing_a_kept_name():
    # The pattern removes keys that contain none of the names anywhere (Onigmo search).
    filt = make(ModifyFilter, Remove_regex=CONTAINER_INSIGHTS_KEEP)
    rec = {"message_id": 1, "old_hostname": 2, "msg": 3, "": 4}
    assert run(filt, rec) == [{"message_id": 1, "old_hostname": 2}]


def test_remove_regex_look_behind():
    filt = make(ModifyFilter, Remove_regex="(?<!keep)_tmp$")
    assert run(filt, {"a_tmp": 1, "keep_tmp": 2}) == [{"keep_tmp": 2}]
