"""``Format template`` as Fluent Bit's file output writes it (the plugin corpora's
``.time.txt`` files are made this way)."""

from __future__ import annotations

from logtide.sinks.formats import template_lines


def test_time_is_the_event_time_as_percent_f() -> None:
    record = {"time": "24/Feb/2023:12:36:50 -0700", "log": "x"}
    assert template_lines([(1677267410.25, record)], "{time} {log}") == b"1677267410.250000 x\n"


def test_a_missing_key_stays_as_written() -> None:
    assert template_lines([(1.0, {"a": "b"})], "{time} {log}") == b"1.000000 {log}\n"


def test_non_string_values_use_msgpack_print_form() -> None:
    record = {"n": 3, "ok": True, "m": {"k": "v"}, "none": None}
    out = template_lines([(0.0, record)], "{n} {ok} {m} {none}")
    assert out == b'3 true {"k"=>"v"} nil\n'


def test_text_outside_placeholders_is_kept_verbatim() -> None:
    assert template_lines([(0.0, {"a": "1"})], "a={a} {} {a") == b"a=1 {} {a\n"
