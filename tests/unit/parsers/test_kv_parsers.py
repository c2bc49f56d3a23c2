import calendar

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.parsers.helpers import make


def test_logfmt_basic_values():
    parser = make(Format="logfmt")
    _, record = parser.parse('key=value quoted="a \\"b\\" c" bare empty= q=""')
    assert record == {"key": "value", "quoted": 'a "b" c', "bare": True, "empty": True, "q": ""}


def test_logfmt_no_bare_keys():
    assert make(Format="logfmt", Logfmt_No_Bare_Keys="On").parse("a=1 bare") is None
    assert make(Format="logfmt", Logfmt_No_Bare_Keys="On").parse("a=1 b=")[1] == {
        "a": "1",
        "b": True,
    }


def test_logfmt_types_apply_to_raw_values():
    parser = make(Format="logfmt", Types="n:integer f:float ok:bool")
    assert parser.parse("n=12 f=1.5 ok=true bare")[1] == {
        "n": 12,
        "f": 1.5,
        "ok": True,
        "bare": "",
    }


def test_logfmt_time_and_invalid_time_fails():
    parser = make(Format="logfmt", Time_Key="ts", Time_Format="%Y-%m-%dT%H:%M:%SZ")
    t, record = parser.parse("ts=2020-01-02T03:04:05Z level=info")
    assert t == calendar.timegm((2020, 1, 2, 3, 4, 5))
    assert record == {"level": "info"}
    assert parser.parse("ts=nope level=info") is None


def test_logfmt_stops_at_newline_after_a_pair():
    assert make(Format="logfmt").parse("a=1\nb=2")[1] == {"a": "1"}


def test_logfmt_nothing_to_parse():
    assert make(Format="logfmt").parse("   ") is None
    assert make(Format="logfmt").parse(b"") is None


def test_ltsv():
    parser = make(Format="ltsv", Types="size:integer")
    _, record = parser.parse("host:127.0.0.1\tident:-\tsize:42\treq:GET / HTTP/1.1")
    assert record == {"host": "127.0.0.1", "ident": "-", "size": 42, "req": "GET / HTTP/1.1"}


def test_ltsv_time_and_line_end():
    parser = make(Format="ltsv", Time_Format="%d/%b/%Y:%H:%M:%S %z")
    t, record = parser.parse("time:10/Oct/2000:13:55:36 -0700\tmsg:hi\r\nnext:line")
    assert t == calendar.timegm((2000, 10, 10, 20, 55, 36))
    assert record == {"msg": "hi"}
    assert parser.parse("time:bad\tmsg:hi") is None


def test_ltsv_no_label():
    assert make(Format="ltsv").parse("no labels here") is None


@given(st.binary(max_size=200))
def test_never_raise(data):
    make(Format="logfmt", Types="a:integer").parse(data)
    make(Format="ltsv", Types="a:float").parse(data)
