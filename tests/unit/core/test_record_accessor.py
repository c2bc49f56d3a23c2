"""One record accessor (Fluent Bit's ``flb_ra_parser`` syntax) for the filters, the
cloudwatch_logs templates and the s3 key format. Where the three read it differently before,
Fluent Bit's reading now holds for all three; each test below names the side it changed."""

from __future__ import annotations

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.record_accessor import MISSING, RecordAccessor, Template
from logtide.sinks.s3.keys import DEFAULT_PARTITION, KeyFormat, KeyFormatError

RECORD = {
    "kubernetes": {"namespace_name": "shop", "it's": "quoted", "labels": {"a.b/c": "x"}},
    "list": ["zero", {"deep": 1}],
    "host": "h1",
    "log.level": "warn",
}


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("$kubernetes['namespace_name']", "shop"),
        ("""$kubernetes[ "labels" ]['a.b/c']""", "x"),
        ("$list[1]['deep']", 1),
        ("$list[2]", MISSING),
        ("$host['x']", MISSING),
        ("$log.level", "warn"),  # a whole accessor's key may hold dots, as Fluent Bit lexes it
        ("host", "h1"),  # a plain key names a top-level field as it stands
    ],
)
def test_accessor_reads_nested_values(pattern: str, value: object) -> None:
    assert RecordAccessor(pattern).get(RECORD) == value


def test_a_doubled_quote_is_a_quote_in_a_subkey_everywhere() -> None:
    """Fluent Bit's lexer reads '' inside '...' as one quote; all three rejected or misread it."""
    assert RecordAccessor("$kubernetes['it''s']").get(RECORD) == "quoted"
    assert Template("$kubernetes['it''s']").render("t", RECORD) == "quoted"
    keys = KeyFormat("/$kubernetes['it''s']/${kubernetes['it''s']}")
    assert keys.group(RECORD) == ("quoted",)


@pytest.mark.parametrize("pattern", ["$list[-1]", "$my-key", "$", "$a['b'", "$a[x]", "$0"])
def test_filters_reject_what_fluent_bit_cannot_parse(pattern: str) -> None:
    """Changed on the filters' side: a negative index (Python's from-the-end) and key
    characters Fluent Bit's lexer has no token for were accepted before."""
    with pytest.raises(ConfigError, match="invalid record accessor"):
        RecordAccessor(pattern)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$TAG_$host", "kube.app_h1"),  # $TAG comes first, as in Fluent Bit
        ("$TAG.$host", "kube.app.h1"),
        ("$host.$kubernetes['namespace_name']", "h1.shop"),  # '.' ends a template's key
        ("$kubernetes[ 'namespace_name' ]", "shop"),  # spaces inside a subscript
        ("cost: $5 $list[0]", "cost: $5 zero"),
    ],
)
def test_cloudwatch_templates_read_keys_as_fluent_bit_does(text: str, expected: str) -> None:
    """Changed on the cloudwatch_logs side: ``$TAG_x``/``$TAG.x`` and ``$host.x`` were read
    as record keys named ``TAG_x``, ``TAG.`` and ``host.x`` (so the name fell back)."""
    assert Template(text).render("kube.app", RECORD) == expected


def test_s3_key_fields_take_array_indexes() -> None:
    """Changed on the s3 side: ``$list[1]`` was ``$list`` then a literal ``[1]`` and
    ``${list[0]}`` a malformed format."""
    keys = KeyFormat("/$list[1]['deep']/${list[0]}/${list[5]}")
    assert keys.group(RECORD) == ("1", "zero", DEFAULT_PARTITION)


def test_s3_placeholders_follow_the_one_key_syntax() -> None:
    """Changed on the s3 side: ``${my-key}`` took any characters; Fluent Bit has no such key."""
    with pytest.raises(KeyFormatError):
        KeyFormat("/${my-key}")
    assert KeyFormat("/${log.level}").group(RECORD) == ("warn",)
