"""Line rules and decoding through ``TailInput.run`` under ``--once`` on real files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.inputs.tail.harness import Sink, run_once


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


async def test_plain_lines_crlf_final_line_without_newline(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", b"one\r\ntwo\n\r\n\nlast-no-newline")
    sink = Sink()
    await run_once(sink, path=path, read_from_head="on")
    assert sink.logs() == ["one", "two", "\r", "", "last-no-newline"]


async def test_skip_empty_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", b"one\n\n\r\ntwo\n")
    sink = Sink()
    tail = await run_once(sink, path=path, read_from_head="on", skip_empty_lines="on")
    assert sink.logs() == ["one", "two"]
    assert tail.context.metrics.get("test.0", "empty_lines_skipped") == 2


async def test_skip_long_lines_exact_threshold(tmp_path: Path) -> None:
    # Buffer_Max_Size 100: a line of 98 bytes + newline fits, 99 does not.
    lines = [b"a" * 98, b"b" * 99, b"short", b"c" * 5000, b"end"]
    path = _write(tmp_path / "a.log", b"\n".join(lines) + b"\n")
    sink = Sink()
    tail = await run_once(
        sink,
        path=path,
        read_from_head="on",
        buffer_chunk_size="100",
        buffer_max_size="100",
        skip_long_lines="on",
    )
    assert sink.logs() == ["a" * 98, "short", "end"]
    assert tail.context.metrics.get("test.0", "long_lines_skipped") == 2


async def test_truncate_long_lines_keeps_head_utf8_safe(tmp_path: Path) -> None:
    long = "é" * 200  # 400 bytes
    path = _write(tmp_path / "a.log", f"x\n{long}\ny\n".encode())
    sink = Sink()
    tail = await run_once(
        sink,
        path=path,
        read_from_head="on",
        buffer_chunk_size="101",
        buffer_max_size="101",
        truncate_long_lines="on",
    )
    logs = sink.logs()
    assert logs[0] == "x" and logs[2] == "y"
    assert logs[1] == "é" * 50  # 100 bytes: the cut never splits a character
    assert tail.context.metrics.get("test.0", "long_lines_truncated") == 1


async def test_bad_input_never_stops_the_input(tmp_path: Path) -> None:
    data = b"ok1\n\xff\xfe bad utf8\n\x00\x00\x00after-nuls\nbin\x00ary\x01\x02\nok2\n"
    path = _write(tmp_path / "a.log", data)
    sink = Sink()
    tail = await run_once(sink, path=path, read_from_head="on", parser="json")
    logs = sink.logs()
    assert logs == ["ok1", "\ufffd\ufffd bad utf8", "after-nuls", "bin\x00ary\x01\x02", "ok2"]
    assert tail.context.metrics.get("test.0", "invalid_utf8") == 1


async def test_parser_path_key_offset_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", b'{"a":1}\nnot json\n{"b":2}\n')
    sink = Sink()
    await run_once(
        sink, path=path, read_from_head="on", parser="json", path_key="file", offset_key="off"
    )
    assert sink.records == [
        {"a": 1, "file": path, "off": 0},
        {"log": "not json", "file": path, "off": 8},
        {"b": 2, "file": path, "off": 17},
    ]


async def test_docker_mode_joins_fragments_and_flushes_at_end(tmp_path: Path) -> None:
    frags = [
        {"log": "part1-", "stream": "stdout", "time": "2026-01-01T00:00:00Z"},
        {"log": "part2\n", "stream": "stdout", "time": "2026-01-01T00:00:01Z"},
        {"log": "whole\n", "stream": "stderr", "time": "2026-01-01T00:00:02Z"},
        {"log": "dangling", "stream": "stdout", "time": "2026-01-01T00:00:03Z"},
    ]
    data = b"".join(json.dumps(f).encode() + b"\n" for f in frags)
    path = _write(tmp_path / "a.log", data)
    sink = Sink()
    await run_once(sink, path=path, read_from_head="on", parser="docker", docker_mode="on")
    assert [(r["log"], r["stream"]) for r in sink.records] == [
        ("part1-part2\n", "stdout"),
        ("whole\n", "stderr"),
        ("dangling", "stdout"),
    ]


async def test_docker_mode_non_json_line_flushes_held_fragment(tmp_path: Path) -> None:
    data = b'{"log":"held","stream":"stdout"}\nplain text\n'
    path = _write(tmp_path / "a.log", data)
    sink = Sink()
    await run_once(sink, path=path, read_from_head="on", parser="docker", docker_mode="on")
    assert sink.records == [{"log": "held", "stream": "stdout"}, {"log": "plain text"}]


async def test_multiline_cri_joins_partial_lines(tmp_path: Path) -> None:
    data = (
        b"2026-11-27T00:00:00.1Z stdout P hello \n"
        b"2026-11-27T00:00:00.2Z stderr F other\n"
        b"2026-11-27T00:00:00.3Z stdout F world\n"
    )
    path = _write(tmp_path / "a.log", data)
    sink = Sink()
    await run_once(sink, path=path, read_from_head="on", multiline__parser="cri")
    assert [(r["stream"], r["log"], r["_p"]) for r in sink.records] == [
        ("stderr", "other", "F"),
        ("stdout", "hello world", "P"),
    ]


async def test_glob_list_exclude_and_tag_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"a\n")
    (tmp_path / "b.log").write_bytes(b"b\n")
    (tmp_path / "c.txt").write_bytes(b"c\n")
    (tmp_path / "skip.log").write_bytes(b"s\n")
    sink = Sink()
    await run_once(
        sink,
        path=f"{tmp_path}/*.log, {tmp_path}/*.txt",
        exclude_path="*skip*",
        read_from_head="on",
        tag="t.*",
    )
    got = sorted((chunk.tag.rsplit(".", 2)[-2], chunk.events[0][1]["log"]) for chunk in sink.chunks)
    assert got == [("a", "a"), ("b", "b"), ("c", "c")]


async def test_explicit_not_from_head_starts_at_end_on_first_scan(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", b"old\n")
    sink = Sink()
    await run_once(sink, path=path, read_from_head="Off")
    assert sink.records == []


async def test_once_without_read_from_head_reads_a_new_file_from_its_head(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", b"old\n")
    sink = Sink()
    await run_once(sink, path=path)
    assert sink.logs() == ["old"]
