import json
import re
from pathlib import Path

import pytest

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry
from logtide.agent.filters.parser import ParserFilter
from logtide.agent.parsers.base import ParserSection
from logtide.agent.parsers.registry import ParserRegistry
from tests.unit.filters.helpers import make, run

DATA = Path(__file__).parent / "data"
LOC = Location("parsers.conf", 1)


def registry(*defs: dict[str, str]) -> ParserRegistry:
    sections = [ParserSection(LOC, tuple(Entry(k, v, LOC) for k, v in d.items())) for d in defs]
    return ParserRegistry.from_sections(sections)


def _normalise(text: str) -> str:
    # Fluent Bit drops invalid UTF-8 bytes (its file output shows them as U+E0xx); logtide
    # replaces them with U+FFFD. The corpus README allows comparing with both removed.
    return re.sub(r"[\ue000-\ue0ff\ufffd]", "", text)


def test_docker_corpus_edge_cases_match_fluent_bit():
    parsers = registry({"Name": "dummy", "Format": "json"}, {"Name": "docker", "Format": "json"})
    filt = make(
        ParserFilter,
        parsers,
        Key_Name="log",
        Parser="dummy",
        Reserve_Data="True",
    )
    cases = [
        json.loads(line) for line in (DATA / "docker_edge_cases.jsonl").read_text().splitlines()
    ]
    assert len(cases) > 10
    for case in cases:
        raw = case["input"].encode("latin-1")
        parsed = parsers.get("docker").parse(raw)
        record = parsed[1] if parsed else {"log": raw.decode("utf-8", "replace")}
        [(_, out)] = filt("order", [(1.0, record)])
        expected = json.loads(case["expected"].encode("latin-1").decode("utf-8", "replace"))
        got = json.loads(_normalise(json.dumps(out, ensure_ascii=False)))
        assert list(got.items()) == list(
            json.loads(_normalise(json.dumps(expected, ensure_ascii=False))).items()
        ), raw


def test_without_reserve_data_only_parsed_keys():
    filt = make(ParserFilter, Key_Name="log", Parser="json")
    assert run(filt, {"log": '{"a":1}', "other": 2}) == [{"a": 1}]


def test_preserve_key():
    filt = make(ParserFilter, Key_Name="log", Parser="json", Preserve_Key="On")
    assert run(filt, {"log": '{"a":1}', "other": 2}) == [{"a": 1, "log": '{"a":1}'}]
    both = make(ParserFilter, Key_Name="log", Parser="json", Preserve_Key="On", Reserve_Data="On")
    out = run(both, {"x": 0, "log": '{"a":1}', "other": 2})
    assert list(out[0].items()) == [("a", 1), ("x", 0), ("log", '{"a":1}'), ("other", 2)]


def test_collision_keeps_parsed_position_and_original_value():
    filt = make(ParserFilter, Key_Name="log", Parser="json", Reserve_Data="On")
    out = run(filt, {"log": '{"stream":"app","a":1}', "stream": "stdout"})
    assert list(out[0].items()) == [("stream", "stdout"), ("a", 1)]


def test_parsed_key_named_like_key_name_survives():
    filt = make(ParserFilter, Key_Name="log", Parser="json", Reserve_Data="On")
    assert run(filt, {"log": '{"log":"inner"}', "s": 1}) == [{"log": "inner", "s": 1}]


def test_first_parser_that_succeeds_wins_and_time_replaces_event_time():
    parsers = registry(
        {"Name": "num", "Format": "regex", "Regex": r"^(?<n>\d+)$"},
        {"Name": "t", "Format": "regex", "Regex": r"^(?<time>\d+) (?<m>.*)$", "Time_Format": "%s"},
    )
    filt = make(ParserFilter, parsers, Key_Name="log", Parser=["num", "t"])
    events = filt(
        "tag", [(5.0, {"log": "42"}), (5.0, {"log": "1700000000 hi"}), (5.0, {"log": "x"})]
    )
    assert events == [(5.0, {"n": "42"}), (1700000000.0, {"m": "hi"}), (5.0, {"log": "x"})]
    assert filt.context.metrics.get("filter.0", "unparsed_records") == 1


@pytest.mark.parametrize("record", [{"other": 1}, {"log": 5}, {"log": None}, {"log": ["x"]}])
def test_missing_or_non_string_field_passes_unchanged(record):
    filt = make(ParserFilter, Key_Name="log", Parser="json")
    assert run(filt, record) == [record]


def test_bytes_value_with_invalid_utf8():
    filt = make(ParserFilter, Key_Name="log", Parser="json")
    assert run(filt, {"log": b'{"a":"\xff"}'}) == [{"a": "\ufffd"}]


def test_record_accessor_key():
    filt = make(ParserFilter, Key_Name="$k['raw']", Parser="json", Reserve_Data="On")
    out = run(filt, {"k": {"raw": '{"a":1}'}, "z": 2})
    assert out == [{"a": 1, "k": {"raw": '{"a":1}'}, "z": 2}]
    only = make(ParserFilter, Key_Name="$k['raw']", Parser="json")
    assert run(only, {"k": {"raw": '{"a":1}'}}) == [{"a": 1}]


def test_unknown_parser_is_config_error():
    with pytest.raises(ConfigError, match="unknown parser 'nope'"):
        make(ParserFilter, Key_Name="log", Parser="nope")


def test_missing_options():
    with pytest.raises(ConfigError, match="Key_Name"):
        make(ParserFilter, Parser="json")
    with pytest.raises(ConfigError, match="Parser"):
        make(ParserFilter, Key_Name="log")


@pytest.mark.parametrize(
    "payload",
    [
        '{"a":1}',
        "[1,2]",
        "3",
        '"s"',
        "{broken",
        '{"a":1} tail',
        '{"a":1}{"b":2}',
        '{"a":"\\ud800"}',
        b'{"a":"\xff"}',
        "",
    ],
)
def test_json_shortcut_gives_what_parse_gives(payload):
    # A json parser without Time_Format (the stock one has one, so no shortcut).
    parsers = registry({"Name": "plain", "Format": "json"})
    parser = parsers.get("plain")
    assert parser.loads is not None
    filt = make(ParserFilter, parsers, Key_Name="log", Parser="plain")
    result = parser.parse(payload)
    assert run(filt, {"log": payload}) == ([result[1]] if result else [{"log": payload}])


def test_json_parser_with_time_or_decoders_has_no_shortcut():
    timed = registry({"Name": "t", "Format": "json", "Time_Key": "ts", "Time_Format": "%s"})
    decoded = registry({"Name": "d", "Format": "json", "Decode_Field": "json log"})
    assert timed.get("t").loads is None
    assert decoded.get("d").loads is None
