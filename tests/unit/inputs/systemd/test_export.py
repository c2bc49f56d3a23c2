"""Export-format text into Fluent Bit-shaped records, fed in arbitrary pieces."""

from __future__ import annotations

from logtide.agent.inputs.systemd.export import ExportParser, Shape

CURSOR = "s=ab;i=1;b=cd;m=1;t=2;x=3"


def _entry(*fields: bytes) -> bytes:
    head = f"__CURSOR={CURSOR}\n__REALTIME_TIMESTAMP=1719818664922098\n".encode()
    return head + b"".join(fields) + b"\n"


def _binary(name: bytes, value: bytes) -> bytes:
    return name + b"\n" + len(value).to_bytes(8, "little") + value + b"\n"


def test_text_fields_time_cursor_and_unit() -> None:
    [entry] = ExportParser(Shape()).feed(
        _entry(b"_SYSTEMD_UNIT=kubelet.service\n", b"MESSAGE=a=b\n")
    )
    assert entry.cursor == CURSOR
    assert entry.time == 1719818664.922098
    assert entry.unit == "kubelet.service"
    assert entry.record == {"_SYSTEMD_UNIT": "kubelet.service", "MESSAGE": "a=b"}


def test_repeated_field_becomes_an_array_moved_last() -> None:
    [entry] = ExportParser(Shape()).feed(_entry(b"A=1\n", b"B=2\n", b"A=3\n", b"A=4\n"))
    assert list(entry.record.items()) == [("B", "2"), ("A", ["1", "3", "4"])]


def test_strip_underscores_lowercase_and_max_fields() -> None:
    shape = Shape(strip_underscores=True, lowercase=True, max_fields=2)
    [entry] = ExportParser(shape).feed(_entry(b"_PID=1\n", b"__X=0\n", b"PRIORITY=6\n", b"C=7\n"))
    assert entry.record == {"pid": "1", "priority": "6"}


def test_binary_fields_with_newlines_and_invalid_utf8() -> None:
    text = _entry(
        b"A=1\n", _binary(b"MESSAGE", b"two\n\nlines"), _binary(b"RAW", b"x\xffy"), b"Z=9\n"
    )
    [entry] = ExportParser(Shape()).feed(text)
    assert entry.record == {"A": "1", "MESSAGE": "two\n\nlines", "RAW": "x\ufffdy", "Z": "9"}


def test_entries_split_anywhere_between_reads() -> None:
    text = _entry(b"A=1\n", _binary(b"M", b"a\n\nb")) + _entry(b"B=2\n")
    for cut in range(len(text) + 1):
        parser = ExportParser(Shape())
        entries = parser.feed(text[:cut]) + parser.feed(text[cut:])
        assert [e.record for e in entries] == [{"A": "1", "M": "a\n\nb"}, {"B": "2"}], cut
        assert parser.pending == 0
