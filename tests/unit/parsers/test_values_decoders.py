import pytest

from logtide.agent.parsers.decoders import Decoders
from logtide.agent.parsers.values import mysql_unquote, parse_types, unescape, unescape_utf8


@pytest.mark.parametrize(
    ("type_name", "raw", "expected"),
    [
        ("integer", "12abc", 12),
        ("integer", "abc", 0),
        ("integer", " -7", -7),
        ("integer", "99999999999999999999", 2**63 - 1),
        ("float", "1.5e3x", 1500.0),
        ("float", "x", 0.0),
        ("hex", "0xff", 255),
        ("hex", "zz", 0),
        ("bool", "TRUE", True),
        ("bool", "false!", False),
        ("bool", "yes", "yes"),
        ("string", "12", "12"),
        ("whatever", "12", "12"),
    ],
)
def test_casts(type_name, raw, expected):
    assert parse_types(f"k:{type_name}")["k"](raw) == expected


def test_types_first_entry_wins_and_entries_without_colon_ignored():
    casts = parse_types("k:integer k:float junk v:bool")
    assert casts["k"]("3.5") == 3 and "junk" not in casts and casts["v"]("true") is True


def test_unescape():
    assert unescape(r"a\tb\nc\\d\"e\q") == 'a\tb\nc\\d"eq'


def test_unescape_utf8():
    assert unescape_utf8(r"caf\u00e9 \ud83d\ude80 \x41 \101 \/") == "café 🚀 A A /"
    assert unescape_utf8(r"bad \ud83d end") == "bad \ufffd end"
    assert unescape_utf8("stop\0here") == "stop"


def test_mysql_unquote():
    assert mysql_unquote("'it''s \\n'") == "it's \n"
    assert mysql_unquote("plain") == "plain"


def test_decoder_chain_try_next_and_do_next():
    decoders = Decoders()
    decoders.add("json log try_next", replace=True)
    decoders.add("escaped log", replace=True)
    assert decoders.apply({"log": r"a\tb"}) == {"log": "a\tb"}
    assert decoders.apply({"log": '{"x":1}'}) == {"log": {"x": 1}}


def test_decoder_without_action_stops_after_failure():
    decoders = Decoders()
    decoders.add("json log", replace=True)
    decoders.add("escaped log", replace=True)
    assert decoders.apply({"log": r"a\tb"}) == {"log": r"a\tb"}


def test_decode_field_appends_decoded_keys_at_end():
    decoders = Decoders()
    decoders.add("json payload", replace=False)
    record = decoders.apply({"payload": '{"a":1}', "z": 0})
    assert list(record.items()) == [("payload", '{"a":1}'), ("z", 0), ("a", 1)]


def test_decoder_ignores_non_strings_and_arrays():
    decoders = Decoders()
    decoders.add("json v", replace=True)
    assert decoders.apply({"v": 5}) == {"v": 5}
    assert decoders.apply({"v": "[1,2]"}) == {"v": "[1,2]"}
