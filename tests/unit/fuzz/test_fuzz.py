"""Bounded fuzzing: the config loaders, the stream-SQL compiler and the docker/CRI line
parsers never raise anything but their documented errors, and what the parsers return can
always be serialised by the outputs (one unserialisable record would stall an output)."""

from __future__ import annotations

import contextlib

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logtide.agent.config.loader import load_string
from logtide.agent.core.errors import ConfigError
from logtide.agent.engine.plan import build_plan
from logtide.agent.parsers.registry import ParserRegistry
from logtide.streamsql import StreamProcessor, StreamTask, compile

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = ["Name", "Match", "Tag", "Path", "Flush", "Parser", "Key_Name", "bucket", "Exec", "@SET"]
WORDS = ["tail", "dummy", "s3", "file", "parser", "null", "On", "Off", "1", "3m", "30M", "-1",
         "*", "x=${X}", "${UNSET}", "[", "]", "\t", "", "é", "\x00", "@INCLUDE", "a b"]  # fmt: skip
HEADERS = ["[SERVICE]", "[INPUT]", "[OUTPUT]", "[FILTER]", "[PARSER]", "[STREAM_TASK]", "[", "[X"]


@st.composite
def classic_text(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            lines.append(draw(st.sampled_from(HEADERS)))
        elif kind == 1:
            indent = draw(st.sampled_from(["", "    ", "\t", "  "]))
            key, value = draw(st.sampled_from(KEYS)), draw(st.sampled_from(WORDS))
            lines.append(f"{indent}{key} {value}")
        else:
            lines.append(draw(st.text(max_size=30)))
    return "\n".join(lines)


@FAST
@given(classic_text())
def test_classic_config_raises_only_config_errors(text: str) -> None:
    with contextlib.suppress(ConfigError):
        build_plan(load_string(text, "classic"))


YAML_SNIPPETS = ["service:", "pipeline:", "  inputs:", "    - name: dummy", "    - name: tail",
                 "      path: /x", "  outputs:", "    - name: null", "      match: '*'", "- [",
                 "{", "key: [1, 2", "includes: [a.yaml]", "env:", "  X: 1", ": :", "\t", "&a *a"]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(YAML_SNIPPETS) | st.text(max_size=20), max_size=12))
def test_yaml_config_raises_only_config_errors(lines: list[str]) -> None:
    with contextlib.suppress(ConfigError):
        build_plan(load_string("\n".join(lines), "yaml"))


SQL_TOKENS = ["CREATE", "STREAM", "s", "WITH", "(tag='t')", "AS", "SELECT", "*", "FROM",
              "TAG:'order*'", "STREAM:in", "WHERE", "state", "=", "<>", "'CA'", "AND", "OR",
              "NOT", "COUNT(*)", "AVG(price)", "GROUP", "BY", "WINDOW", "TUMBLING", "(5",
              "SECOND)", "HOPPING", "ADVANCE", "BY", "@record.time()", "IS", "NULL", ";", ",",
              "(", ")", "1", "-1.5", "'", "\"x\"", "LIMIT", "10", "-1", "0", "-0",
              "@record.contains(a)", "TIMESERIES_FORECAST(v,"]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(SQL_TOKENS), min_size=0, max_size=25))
def test_stream_sql_raises_only_query_errors(tokens: list[str]) -> None:
    sql = " ".join(tokens)
    try:
        compile(sql)
        StreamProcessor([StreamTask("fuzz", sql, None)])  # type: ignore[arg-type]
    except ConfigError:  # QueryError is a ConfigError
        pass


@FAST
@given(st.text(max_size=200))
def test_stream_sql_free_text_raises_only_query_errors(sql: str) -> None:
    with contextlib.suppress(ConfigError):
        compile(sql)


REGISTRY = ParserRegistry.builtin()
JSON_PIECES = ['{"log":"', "\\ud800", "\\udc00", "\\u00e9", "\\n", '","stream":"stdout"',
               ',"time":"2024-01-01T00:00:00.123456789Z"', "}", "{", "[", "]", "\\", '"',
               "1e999", "NaN", "-0", "null", "\x00", "é", ":", ","]  # fmt: skip


def _check(result: object) -> None:
    assert result is None or (isinstance(result, tuple) and len(result) == 2)
    if result is not None:
        when, record = result  # type: ignore[misc]
        assert when is None or isinstance(when, float)
        assert isinstance(record, dict)
        orjson.dumps(record)


@FAST
@given(
    st.lists(st.sampled_from(JSON_PIECES), max_size=20) | st.text(max_size=80).map(lambda s: [s])
)
@example(['{"log":"', "\\ud800", '"}'])
@example(['{"log":"', "\\udc00", "\\ud800", '","stream":"stdout"', "}"])
def test_docker_parser_returns_a_serialisable_record_or_none(pieces: list[str]) -> None:
    line = "".join(pieces)
    parser = REGISTRY.get("docker")
    _check(parser.parse(line))
    _check(parser.parse(line.encode("utf-8", "surrogatepass")))


@FAST
@given(st.binary(max_size=200))
def test_docker_parser_survives_any_bytes(data: bytes) -> None:
    _check(REGISTRY.get("docker").parse(data))


CRI_PIECES = ["2024-01-01T00:00:00.123456789Z", "2024-13-99T99:99:99Z", " ", "stdout", "stderr",
              "F", "P", "X", "message", "\x00", "\xff", "é", "\t", ""]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(CRI_PIECES), max_size=8) | st.text(max_size=60).map(lambda s: [s]))
def test_cri_parser_returns_a_serialisable_record_or_none(pieces: list[str]) -> None:
    line = "".join(pieces)
    parser = REGISTRY.get("cri")
    _check(parser.parse(line))
    _check(parser.parse(line.encode("utf-8", "surrogatepass")))
