"""The lua filter: the callback contract, record <-> table conversion, failures that lose
nothing, and the one-line errors ``--dry-run`` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.filters.lua import LuaFilter
from logtide.agent.filters.lua.runtime import script_path
from tests.unit.filters.helpers import make, run


def lua(code: str, **options: object) -> LuaFilter:
    return make(LuaFilter, code=code, call="cb", **options)


def test_codes_drop_keep_replace() -> None:
    filt = lua(
        """function cb(tag, ts, r)
             if r.a == "drop" then return -1, ts, r end
             r.seen = tag
             if r.a == "keep" then return 0, ts, r end
             if r.a == "new_time" then return 1, 42.5, r end
             if r.a == "weird" then return 7, ts, r end
             return 2, 0, r
           end"""
    )
    events = [(1.0, {"a": a}) for a in ("drop", "keep", "new_time", "same_time", "weird")]
    out = filt("t", events)
    assert out == [
        (1.0, {"a": "keep"}),
        (42.5, {"a": "new_time", "seen": "t"}),
        (1.0, {"a": "same_time", "seen": "t"}),
        (1.0, {"a": "weird"}),
    ]
    assert filt.context.metrics.get("filter.0", "lua_errors") == 1


def test_split_into_an_array_of_records() -> None:
    filt = lua(
        "function cb(t, ts, r) local o = {} for i, v in ipairs(r.xs) do o[i] = {x = v} end"
        " return 1, ts + 1, o end"
    )
    assert filt("t", [(1.0, {"xs": [1, 2, 3]})]) == [
        (2.0, {"x": 1}),
        (2.0, {"x": 2}),
        (2.0, {"x": 3}),
    ]


def test_conversion_rules() -> None:
    filt = lua(
        """function cb(t, ts, r)
             r.half = r.n / 2; r.whole = r.f * 2; r.big = 1e21
             r.sparse = {}; r.sparse[1] = "a"; r.sparse[3] = "c"
             r.mixed = {"x", k = "dropped"}
             r.empty_map = {}
             return 2, ts, r
           end"""
    )
    (out,) = run(
        filt, {"n": 5, "f": 1.5, "nil": None, "arr": [], "obj": {}, "nested": {"l": [1, None]}}
    )
    assert out["half"] == 2.5 and type(out["whole"]) is int and out["whole"] == 3
    assert out["big"] == 1e21 and type(out["big"]) is float
    assert out["sparse"] == ["a", None, "c"] and out["mixed"] == ["x"]
    assert out["arr"] == [] and out["obj"] == {} and out["empty_map"] == {}
    assert "nil" not in out and out["nested"] == {"l": [1]}


def test_type_int_key_truncates_prefixes_too_and_type_array_key() -> None:
    filt = lua(
        "function cb(t, ts, r) r.latency = 1.9; r.latency_x = 1.9; r.list = {} return 2, ts, r end",
        type_int_key="latency_ms",
        type_array_key="list",
    )
    (out,) = run(filt, {"in": {"latency": 2.7}})
    assert out["latency"] == 1 and out["latency_x"] == 1.9 and out["in"] == {"latency": 2}
    assert out["list"] == []


def test_enable_flb_null_keeps_null_keys() -> None:
    filt = lua(
        "function cb(t, ts, r) r.was_null = (r.v == flb_null) return 2, ts, r end",
        enable_flb_null=True,
    )
    assert run(filt, {"v": None}) == [{"v": None, "was_null": True}]


def test_time_as_table() -> None:
    filt = lua(
        "function cb(t, ts, r) r.sec = ts.sec; r.nsec = ts.nsec"
        " return 1, {sec = ts.sec + 1, nsec = 500000000}, r end",
        time_as_table=True,
    )
    assert filt("t", [(1714583401.635, {})]) == [
        (1714583402.5, {"sec": 1714583401, "nsec": 635000000})
    ]


def test_global_state_survives_between_calls() -> None:
    filt = lua("n = 0 function cb(t, ts, r) n = n + 1 r.n = n return 2, ts, r end")
    assert [r["n"] for r in run(filt, {}, {}, {})] == [1, 2, 3]


GARBAGE = [
    'error("boom")',
    "return 1, ts, 42",
    "return 2, ts, nil",
    "return 1, 'not a time', r",
    "return 2, ts, {1, 2}",
]


def test_records_lua_cannot_hold_pass_unchanged() -> None:
    filt = lua("function cb(t, ts, r) r.x = 1 return 2, ts, r end", protected_mode=False)
    events = [(1.0, {"big": 2**70}), (3.0, {"a": 1})]
    assert filt("t", events) == [events[0], (3.0, {"a": 1, "x": 1})]
    assert filt.context.metrics.get("filter.0", "lua_errors") == 1


def test_strings_a_script_cut_inside_a_character_come_back_repaired() -> None:
    """``string.sub`` counts bytes: cutting "café" after 4 leaves half of the "é". Fluent
    Bit carries on with the bytes; the record keeps every change of the script, the broken
    bytes read as U+FFFD (as the tail input reads them), and the chunk goes on, with no
    error counted."""
    filt = lua(
        r"""
        function cb(t, ts, r)
          r.log = string.sub(r.log, 1, 4)
          if r.more then
            r["k\255"] = "v"
            r.nested = {inner = {"a\0\254"}, ok = "caf\195\169"}
          end
          r.x = 1
          return 2, ts, r
        end
        """
    )
    events = [
        (1.0, {"log": "café au lait"}),
        (2.0, {"log": "café", "more": True}),
        (3.0, {"log": "abcdef"}),
    ]
    assert filt("t", events) == [
        (1.0, {"log": "caf\ufffd", "x": 1}),
        (
            2.0,
            {
                "log": "caf\ufffd",
                "more": True,
                "k\ufffd": "v",
                "nested": {"inner": ["a\x00\ufffd"], "ok": "café"},
                "x": 1,
            },
        ),
        (3.0, {"log": "abcd", "x": 1}),
    ]
    assert filt.context.metrics.get("filter.0", "lua_errors") == 0


@pytest.mark.parametrize("body", GARBAGE)
def test_protected_mode_passes_the_whole_chunk_unmodified(body: str) -> None:
    filt = lua(f"function cb(t, ts, r) if r.bad then {body} end r.x = 1 return 2, ts, r end")
    events = [(1.0, {"a": 1}), (2.0, {"bad": True}), (3.0, {"a": 3})]
    assert filt("t", events) == events
    assert filt.context.metrics.get("filter.0", "lua_errors") == 1


@pytest.mark.parametrize("body", GARBAGE)
def test_unprotected_mode_passes_only_the_failing_record(body: str) -> None:
    filt = lua(
        f"function cb(t, ts, r) if r.bad then {body} end r.x = 1 return 2, ts, r end",
        protected_mode=False,
    )
    events = [(1.0, {"a": 1}), (2.0, {"bad": True}), (3.0, {"a": 3})]
    assert filt("t", events) == [(1.0, {"a": 1, "x": 1}), events[1], (3.0, {"a": 3, "x": 1})]


def test_errors_are_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    filt = lua("function cb(t, ts, r) error('boom') end", protected_mode=False)
    filt("t", [(1.0, {})] * 5)
    assert filt.context.metrics.get("filter.0", "lua_errors") == 5
    assert [r.getMessage() for r in caplog.records if "boom" in r.getMessage()] == [
        "filter.0: inline code:1: boom"
    ]


def test_script_path_resolves_against_the_config_file(tmp_path: Path) -> None:
    conf = Location(str(tmp_path / "conf" / "fluent-bit.conf"), 3)
    assert script_path("s.lua", conf) == str(tmp_path / "conf" / "s.lua")
    assert script_path("/abs/s.lua", conf) == "/abs/s.lua"
    (tmp_path / "s.lua").write_text("function cb(t, ts, r) return -1, ts, r end\n")
    assert run(make(LuaFilter, script=str(tmp_path / "s.lua"), call="cb"), {}) == []


@pytest.mark.parametrize(
    ("script", "call", "message"),
    [
        ("function cb(t, ts, r)\n  local x =\nend\n", "cb", "bad.lua:3: unexpected symbol"),
        ("function other() end\n", "cb", "function 'cb' is not defined in"),
        (None, "cb", "cannot read script"),
    ],
)
def test_bad_scripts_fail_validation_with_one_line(
    tmp_path: Path, script: str | None, call: str, message: str
) -> None:
    if script is not None:
        (tmp_path / "bad.lua").write_text(script)
    with pytest.raises(ConfigError) as caught:
        make(LuaFilter, script=str(tmp_path / "bad.lua"), call=call)
    text = str(caught.value)
    assert message in text and "\n" not in text
