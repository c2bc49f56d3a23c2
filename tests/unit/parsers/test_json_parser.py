import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logtide.agent.parsers.json_parser import load_object
from tests.unit.parsers.helpers import make


def test_object_keeps_source_key_order():
    parser = make(Format="json")
    assert list(parser.parse(b'{"z":1,"a":2,"m":3}')[1]) == ["z", "a", "m"]


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2, 3]\n", b"42", b'"text"', b"null", b"", b"\n", b'{"broken": "json", \n', b"\x00"],
)
def test_non_object_payloads_do_not_parse(payload):
    assert make(Format="json").parse(payload) is None


def test_whitespace_crlf_and_trailing_garbage_are_accepted():
    parser = make(Format="json")
    assert parser.parse(b'  {"a":1}  \r\n') == (None, {"a": 1})
    assert parser.parse('{"a":1} trailing') == (None, {"a": 1})


def test_two_json_values_do_not_parse():
    assert make(Format="json").parse(b'{"a":1} {"b":2}') is None


def test_duplicate_keys_first_position_last_value():
    assert make(Format="json").parse(b'{"dup":1,"x":0,"dup":2}')[1] == {"dup": 2, "x": 0}
    assert list(make(Format="json").parse(b'{"dup":1,"x":0,"dup":2}')[1]) == ["dup", "x"]


def test_big_numbers():
    record = make(Format="json").parse(
        b'{"i":951912010125244310,"u":18446744073709551615,"h":18446744073709551616,"n":-3.5e-3}'
    )[1]
    assert record["i"] == 951912010125244310
    assert record["u"] == 18446744073709551615
    assert record["h"] == pytest.approx(1.8446744073709552e19) and isinstance(record["h"], float)
    assert record["n"] == -0.0035


def test_huge_number_inside_trailing_garbage_path():
    record = load_object('{"h": 123456789012345678901234567890} x')
    assert record == {"h": pytest.approx(1.2345678901234568e29)}


def test_invalid_utf8_is_replaced():
    assert make(Format="json").parse(b'{"a":"x\xff\xfey"}') == (None, {"a": "x\ufffd\ufffdy"})


def test_nul_byte_inside_string_does_not_parse():
    assert make(Format="json").parse(b'{"a":"x\x00y"}') is None


def test_nan_is_not_json():
    assert make(Format="json").parse(b'{"a":NaN} x') is None


def test_str_input():
    assert make(Format="json").parse('{"msg":"é"}') == (None, {"msg": "é"})


def test_time_key_resolved_and_removed():
    parser = make(Format="json", Time_Key="ts", Time_Format="%Y-%m-%d %H:%M:%S")
    t, record = parser.parse(b'{"ts":"2020-01-02 03:04:05","a":1}')
    assert t == calendar.timegm((2020, 1, 2, 3, 4, 5))
    assert record == {"a": 1}


def test_time_keep():
    parser = make(Format="json", Time_Format="%Y-%m-%d", Time_Keep="On")
    t, record = parser.parse(b'{"time":"2020-01-02","a":1}')
    assert t == calendar.timegm((2020, 1, 2, 0, 0, 0))
    assert record == {"time": "2020-01-02", "a": 1}


def test_time_key_without_time_format_is_ignored():
    parser = make(Format="json", Time_Key="time")
    assert parser.parse(b'{"time":"2020-01-02"}') == (None, {"time": "2020-01-02"})


def test_invalid_time_keeps_key_and_event_time():
    parser = make(Format="json", Time_Format="%Y-%m-%d")
    assert parser.parse(b'{"time":"yesterday","a":1}') == (None, {"time": "yesterday", "a": 1})


def test_non_string_time_is_ignored():
    parser = make(Format="json", Time_Format="%s")
    assert parser.parse(b'{"time":1700000000}') == (None, {"time": 1700000000})


def test_types_do_not_apply_to_json():
    parser = make(Format="json", Types="a:integer")
    assert parser.parse(b'{"a":"12"}') == (None, {"a": "12"})


def test_decode_field_as_json_inside_json():
    parser = make(Format="json", Decode_Field_As="json log")
    _, record = parser.parse(b'{"log":"{\\"x\\":1}","s":"o"}')
    assert record == {"log": {"x": 1}, "s": "o"}


@given(st.binary(max_size=200))
def test_never_raises_on_arbitrary_bytes(data):
    result = make(Format="json").parse(data)
    assert result is None or isinstance(result[1], dict)
