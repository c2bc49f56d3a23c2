"""Multiline parsers: config validation, regex state machines, endswith/equal, timeouts."""

from __future__ import annotations

import pytest

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry
from logtide.agent.parsers.base import ParserSection
from logtide.agent.parsers.multiline import MultilineRegistry

WHERE = Location("parsers_multiline.conf", 3)


def _section(*pairs: tuple[str, str]) -> ParserSection:
    return ParserSection(WHERE, tuple(Entry(k, v, WHERE) for k, v in pairs))


JAVA = _section(
    ("name", "java-ish"),
    ("type", "regex"),
    ("flush_timeout", "1000"),
    ("rule", r'"start_state"  "/^(\w+ \d+ \d+:\d+:\d+)(.*)/"  "cont"'),
    ("rule", r'"cont"         "/^\s+at .*/"                  "cont"'),
)


def test_regex_rules_join_a_stack_trace() -> None:
    stream = MultilineRegistry.from_sections([JAVA]).stream(["java-ish"])
    out = []
    for n, line in enumerate(
        [
            b"Dec 14 06:41:08 Exception in thread main",
            b"    at com.example.A(A.java:1)",
            b"    at com.example.B(B.java:2)",
            b"Dec 14 06:41:09 next record",
            b"unrelated line",
        ]
    ):
        out.extend(stream.feed(line, n * 100, now=10.0))
    assert [record["log"] for _, record in out] == [
        "Dec 14 06:41:08 Exception in thread main\n"
        "    at com.example.A(A.java:1)\n"
        "    at com.example.B(B.java:2)\n",
        "Dec 14 06:41:09 next record\n",
        "unrelated line",
    ]
    assert stream.held_from() is None


def test_flush_timeout_releases_held_record() -> None:
    stream = MultilineRegistry.from_sections([JAVA]).stream(["java-ish"])
    assert stream.feed(b"Dec 14 06:41:08 alone", 40, now=1.0) == []
    assert stream.held_from() == 40
    assert stream.flush_expired(now=1.5) == []
    (event,) = stream.flush_expired(now=2.0)
    assert event[1] == {"log": "Dec 14 06:41:08 alone\n"}
    assert stream.held_from() is None


def test_docker_builtin_joins_until_newline_per_stream() -> None:
    stream = MultilineRegistry().stream(["docker"])
    lines = [
        b'{"log":"a","stream":"stdout","time":"2026-11-27T00:00:01.5Z"}',
        b'{"log":"x\\n","stream":"stderr","time":"2026-11-27T00:00:02Z"}',
        b'{"log":"b\\n","stream":"stdout","time":"2026-11-27T00:00:03Z"}',
    ]
    out = [event for n, line in enumerate(lines) for event in stream.feed(line, n)]
    assert [(r["log"], r["stream"]) for _, r in out] == [("x\n", "stderr"), ("ab\n", "stdout")]
    assert out[1][0] == pytest.approx(1795737601.5)


def test_docker_then_cri_autodetects_and_unparsable_lines_pass_as_log() -> None:
    stream = MultilineRegistry().stream(["docker", "cri"])
    out = stream.feed(b"2026-11-27T00:00:00Z stdout F cri line", 0)
    out += stream.feed(b'{"log":"docker line\\n","stream":"stdout"}', 1)
    out += stream.feed(b"neither \xff", 2)
    assert [r["log"] for _, r in out] == ["cri line", "docker line\n", "neither \ufffd"]
    assert stream.invalid_utf8 == 1


def test_user_parser_with_first_stage_parser_and_key_content() -> None:
    class Registry:
        def get(self, name: str, location: object) -> object:
            import orjson

            class P:
                def parse(self, data: bytes | str) -> object:
                    try:
                        return None, orjson.loads(data)
                    except orjson.JSONDecodeError:
                        return None

            return P()

    section = _section(
        ("name", "endswith-bs"),
        ("type", "endswith"),
        ("match_string", "."),
        ("parser", "json"),
        ("key_content", "msg"),
    )
    stream = MultilineRegistry.from_sections([section]).stream(["endswith-bs"], Registry())
    out = stream.feed(b'{"msg":"first ","lvl":1}', 0)
    out += stream.feed(b'{"msg":"second.","lvl":2}', 1)
    assert [r for _, r in out] == [{"msg": "first second.", "lvl": 1}]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("type", "regex"),), "has no 'name'"),
        ((("name", "x"), ("type", "fancy")), "must be one of"),
        ((("name", "x"), ("type", "regex")), "needs 'rule'"),
        ((("name", "x"), ("type", "regex"), ("rule", '"cont" "/a/" "cont"')), "start_state"),
        ((("name", "x"), ("type", "regex"), ("rule", '"start_state" "/(/" "c"')), "regex"),
        ((("name", "x"), ("type", "regex"), ("rule", '"start_state" "/a/"')), "rule must be"),
        ((("name", "x"), ("type", "endswith")), "match_string"),
        ((("name", "x"), ("type", "equal"), ("match_string", "F"), ("bogus", "1")), "unknown key"),
        (
            (("name", "x"), ("type", "equal"), ("match_string", "F"), ("flush_timeout", "z")),
            "integer",
        ),
    ],
)
def test_invalid_sections_name_file_and_line(
    pairs: tuple[tuple[str, str], ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        MultilineRegistry.from_sections([_section(*pairs)])
    assert "parsers_multiline.conf:3" in str(info.value)


def test_unknown_and_duplicate_names() -> None:
    registry = MultilineRegistry.from_sections([JAVA])
    with pytest.raises(ConfigError, match="unknown multiline parser 'nope'"):
        registry.get("nope", WHERE)
    with pytest.raises(ConfigError, match="defined twice"):
        MultilineRegistry.from_sections([JAVA, JAVA])
    assert {"cri", "docker", "java-ish"} <= set(registry.names())


MIXED = [
    b'{"log":"one\\n","stream":"stdout","time":"2026-11-27T00:00:01.000000001Z"}',
    b'{"log":"frag-","stream":"stdout","time":"2026-11-27T00:00:02Z"}',
    b'{"log":"other\\n","stream":"stderr","time":"2026-11-27T00:00:03Z"}',
    b'{"log":"end\\n","stream":"stdout","time":"2026-11-27T00:00:04Z"}',
    b'{"log":"no time\\n","stream":"stdout"}',
    b'{"log":"odd stream\\n","stream":["x"]}',
    b'{"log":7,"stream":"stdout"}',
    b"2026-11-27T00:00:05.5Z stdout F cri after docker",
    b"2026-11-27T00:00:06Z stdout P cri part-",
    b"2026-11-27T00:00:07Z stdout F cri end",
    b"2026-11-27T00:00:08Z stderr F \xff bad utf-8",
    b"neither format",
    b'{"log":"docker again\\n","stream":"stdout"}',
    b'{"log":"held","stream":"stdout"}',
]


@pytest.mark.parametrize("names", [["docker", "cri"], ["cri", "docker"], ["docker"], ["cri"]])
def test_feed_all_is_feed_line_by_line(names: list[str]) -> None:
    # feed_all's whole-line fast path must give what feed gives, line for line.
    batch, single = MultilineRegistry().stream(names), MultilineRegistry().stream(names)
    starts = [n * 100 for n in range(len(MIXED))]
    expected = []
    for line, start in zip(MIXED, starts, strict=True):
        expected.extend(single.feed(line, start, now=50.0))
    assert batch.feed_all(MIXED, starts, now=50.0) == expected
    assert batch.held_from() == single.held_from() == (1300 if "docker" in names else None)
    assert batch.flush_all(60.0) == single.flush_all(60.0)
