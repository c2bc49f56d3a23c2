import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logtide.agent.core.errors import ConfigError
from logtide.agent.parsers.registry import ParserRegistry
from logtide.agent.parsers.rubyre import compile_ruby, ruby_to_python
from tests.unit.parsers.helpers import make

APACHE = (
    r'^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)'
    r'(?: +(?<path>[^ ]*) +\S*)?" (?<code>[^ ]*) (?<size>[^ ]*)'
    r'(?: "(?<referer>[^\"]*)" "(?<agent>.*)")?$'
)


def test_apache_line_with_time_and_types():
    parser = make(
        Format="regex",
        Regex=APACHE,
        Time_Key="time",
        Time_Format="%d/%b/%Y:%H:%M:%S %z",
        Types="code:integer size:integer",
    )
    line = b'192.168.2.20 - - [28/Jul/2006:10:27:10 -0300] "GET /cgi-bin/try/ HTTP/1.0" 200 3395'
    t, record = parser.parse(line)
    assert t == calendar.timegm((2006, 7, 28, 13, 27, 10))
    assert record == {
        "host": "192.168.2.20",
        "user": "-",
        "method": "GET",
        "path": "/cgi-bin/try/",
        "code": 200,
        "size": 3395,
    }
    assert list(record) == ["host", "user", "method", "path", "code", "size"]


def test_no_match_is_none():
    assert make(Format="regex", Regex=r"^(?<a>\d+)$").parse("abc") is None


def test_search_is_not_anchored():
    assert make(Format="regex", Regex=r"(?<n>\d+)").parse("abc 42 x") == (None, {"n": "42"})


def test_skip_empty_values():
    regex = r"^(?<a>\w*)-(?<b>\w*)(?<c>x)?$"
    assert make(Format="regex", Regex=regex).parse("-y")[1] == {"b": "y"}
    kept = make(Format="regex", Regex=regex, Skip_Empty_Values="Off").parse("-y")[1]
    assert kept == {"a": "", "b": "y", "c": ""}


def test_invalid_time_drops_the_time_key():
    parser = make(Format="regex", Regex=r"(?<time>\S+) (?<msg>.*)", Time_Format="%Y-%m-%d")
    assert parser.parse("garbage hello") == (None, {"msg": "hello"})


def test_time_keep_and_offset():
    parser = make(
        Format="regex",
        Regex=r"(?<time>\S+ \S+) (?<msg>.*)",
        Time_Format="%Y-%m-%d %H:%M:%S",
        Time_Offset="+0900",
        Time_Keep="On",
    )
    t, record = parser.parse("2020-01-01 09:00:00 hi")
    assert t == calendar.timegm((2020, 1, 1, 0, 0, 0))
    assert record == {"time": "2020-01-01 09:00:00", "msg": "hi"}


def test_builtin_cri_parser():
    parser = ParserRegistry.builtin().get("cri")
    t, record = parser.parse(b"2026-11-27T00:00:00.5+00:00 stderr P partial line")
    assert t == calendar.timegm((2026, 11, 27, 0, 0, 0)) + 0.5
    assert record == {
        "time": "2026-11-27T00:00:00.5+00:00",
        "stream": "stderr",
        "logtag": "P",
        "message": "partial line",
    }


def test_decoders_after_regex():
    parser = make(
        Format="regex",
        Regex=r"^(?<log>.*)$",
        Decode_Field_As="escaped log try_next",
    )
    assert parser.parse(r"a\tb")[1] == {"log": "a\tb"}


def test_decode_field_json_appends_keys():
    parser = make(Format="regex", Regex=r"^(?<log>.*)$", Decode_Field="json log")
    assert parser.parse('{"a":1,"b":"x"}')[1] == {"log": '{"a":1,"b":"x"}', "a": 1, "b": "x"}


def test_bad_regex_is_config_error_with_location():
    with pytest.raises(ConfigError) as info:
        make(Format="regex", Regex=r"(?<a>[)")
    assert "parsers.conf:7" in str(info.value) and "'p'" in str(info.value)


def test_ruby_syntax_conversion():
    assert ruby_to_python(r"(?<a>\h+)\z") == r"(?P<a>[0-9a-fA-F]+)\Z"
    assert ruby_to_python(r"(?<=x)(?<!y)") == r"(?<=x)(?<!y)"
    assert ruby_to_python(r"[[:alpha:][:digit:]]") == r"[a-zA-Z0-9]"
    assert ruby_to_python(r"(?<a>x)\k<a>") == r"(?P<a>x)(?P=a)"
    assert ruby_to_python(r"\\(?<a>x)") == r"\\(?P<a>x)"


def test_slash_wrapped_pattern_with_options():
    regex = compile_ruby("/^(?<a>a.b)$/im")
    assert regex.search("A\nB") is not None
    assert compile_ruby("/^a$/").search("a") is not None


def test_dollar_matches_at_line_end_like_ruby():
    assert make(Format="regex", Regex=r"^(?<a>\w+)$").parse("abc\ndef") == (None, {"a": "abc"})


@given(st.binary(max_size=200))
def test_never_raises(data):
    ParserRegistry.builtin().get("cri").parse(data)
