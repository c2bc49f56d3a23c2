"""TailedFile.read_batch on its own: lines that span reads, offsets, fingerprints."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from logtide.agent.inputs.tail.decoders import Decoder, DockerModeDecoder
from logtide.agent.inputs.tail.reader import LineRules, LineStarts, TailedFile
from logtide.agent.inputs.tail.rows import FINGERPRINT_BYTES, Row
from logtide.agent.parsers.registry import ParserRegistry


def test_line_starts_in_any_order() -> None:
    lines = [b"a", b"", b"ccc", b"dd\r"]
    starts = LineStarts(lines, 100)
    assert [starts[i] for i in (2, 3, 0, 1, 3)] == [103, 107, 100, 102, 107]


def _open(path: Path, decoder: Decoder, max_line: int = 32 * 1024) -> TailedFile:
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    rules = LineRules(max_line=max_line, skip_long=True, truncate_long=False, skip_empty=False)
    row = Row(0, str(path), 0, st.st_ino, 0)
    return TailedFile(str(path), fd, st.st_dev, st.st_ino, "t", decoder, rules, row)


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 300, 4096])
def test_lines_across_reads_with_offsets_and_fingerprint(tmp_path: Path, block: int) -> None:
    lines = [f"line {n} " + "x" * (n * 37 % 300) for n in range(60)]
    data = "".join(line + "\n" for line in lines).encode() + b"partial"
    path = tmp_path / "app.log"
    path.write_bytes(data)
    f = _open(path, Decoder(None, "log", None, "offset", str(path)))
    events = []
    try:
        while (batch := f.read_batch(0.0, block)) is not None:
            events.extend(batch)
            assert f.recent == data[: f.consumed][-FINGERPRINT_BYTES:]
            assert f.fingerprint_at(f.consumed) == f.recent
    finally:
        os.close(f.fd)
    assert [record["log"] for _, record in events] == lines
    expected = [data.index((line + "\n").encode()) for line in lines]
    assert [record["offset"] for _, record in events] == expected
    assert f.tail == b"partial"
    assert f.consumed == len(data) - len(b"partial")


@pytest.mark.parametrize("block", [5, 50, 4096])
def test_docker_fragments_held_from_their_first_byte(tmp_path: Path, block: int) -> None:
    whole = orjson.dumps({"log": "first\n", "stream": "stdout"}) + b"\n"
    parts = [orjson.dumps({"log": piece, "stream": "stdout"}) + b"\n" for piece in ("a", "b")]
    path = tmp_path / "c.log"
    path.write_bytes(whole + parts[0] + parts[1])
    parse = ParserRegistry.builtin().get("json").parse
    loads = ParserRegistry.builtin().get("json").loads
    decoder = DockerModeDecoder(parse, "log", None, None, str(path), 5.0, None, loads)
    f = _open(path, decoder)
    events = []
    try:
        while (batch := f.read_batch(0.0, block)) is not None:
            events.extend(batch)
    finally:
        os.close(f.fd)
    assert [record["log"] for _, record in events] == ["first\n"]
    assert f.safe == len(whole)
    assert [record["log"] for _, record in f.finish(0.0)] == ["ab"]


def test_nul_run_in_a_line_split_over_reads_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "n.log"
    path.write_bytes(b"one\n\0\0\0two\nthree\n")
    f = _open(path, Decoder(None, "log", None, "offset", str(path)))
    events = []
    try:
        while (batch := f.read_batch(0.0, 5)) is not None:
            events.extend(batch)
    finally:
        os.close(f.fd)
    assert [(r["log"], r["offset"]) for _, r in events] == [("one", 0), ("two", 7), ("three", 11)]
