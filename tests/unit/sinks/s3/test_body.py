"""zstd upload bodies: streamed file to file, deterministic, readable by the local Athena."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logtide.agent.companions.athena.objects import AthenaError, decompress, kind_of
from logtide.sinks.s3.body import build_body

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _buffer(path: Path) -> bytes:
    data = b"".join(
        b'{"seq":%d,"state":"CA","pad":"%s"}\n' % (i, b"x" * (i % 90)) for i in range(20000)
    )
    path.write_bytes(data)
    return data


def test_zstd_body_is_deterministic_and_names_its_size(tmp_path: Path) -> None:
    data = _buffer(tmp_path / "buffer")
    first = build_body(tmp_path / "buffer", tmp_path / "body.zst", "json_lines", "zstd")
    raw = first.path.read_bytes()
    # A rebuild after a restart (a resumed multipart upload) must give the same bytes, also
    # over a longer leftover file.
    (tmp_path / "body.zst").write_bytes(b"\0" * (len(raw) * 3))
    again = build_body(tmp_path / "buffer", tmp_path / "body.zst", "json_lines", "zstd")
    assert (again.size, again.sha256) == (first.size, first.sha256) == (len(raw), first.sha256)
    assert raw.startswith(ZSTD_MAGIC) and raw[4] & 0xE0  # frame content size present
    assert len(raw) < len(data) // 4
    assert kind_of(raw) == "zstd"
    assert decompress(raw, "zstd", "s3://b/k.zst") == data


def test_corrupt_zstd_object_is_an_athena_error(tmp_path: Path) -> None:
    _buffer(tmp_path / "buffer")
    body = build_body(tmp_path / "buffer", tmp_path / "body.zst", "json_lines", "zstd")
    with pytest.raises(AthenaError, match="corrupt zstd"):
        decompress(body.path.read_bytes()[:-7], "zstd", "s3://b/k.zst")


@pytest.mark.parametrize(
    ("fmt", "codec"), [("json_lines", "gzip"), ("json_lines", "zstd"), ("parquet", "snappy")]
)
def test_a_body_the_disk_has_no_room_for_is_built_in_memory_alike(
    tmp_path: Path, fmt: str, codec: str
) -> None:
    # An upload is what frees a full store_dir: one that first needed room for its body
    # could never start on a disk the store filled (retried forever, nothing uploaded).
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here (it answers every write with ENOSPC)")
    _buffer(tmp_path / "buffer")
    on_disk = build_body(tmp_path / "buffer", tmp_path / "body", fmt, codec)
    full = tmp_path / "full.body"
    full.symlink_to("/dev/full")
    in_memory = build_body(tmp_path / "buffer", full, fmt, codec)
    assert in_memory.data == on_disk.path.read_bytes()
    assert (in_memory.size, in_memory.sha256) == (on_disk.size, on_disk.sha256)
    assert in_memory.read(10, 20) == on_disk.read(10, 20)
    with in_memory.open() as handle:
        assert handle.read() == in_memory.data
    assert not full.is_symlink()  # the unwritable target is gone; /dev/full is not touched
    assert Path("/dev/full").exists()


def test_parquet_keeps_the_keys_only_later_records_have(tmp_path: Path) -> None:
    # pyarrow's from_pylist takes the columns from the first row alone: `b`, `c` and the
    # empty key were dropped from every row, with no error, when the first record lacked them.
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"a": 1},
        {"a": 2, "b": "x"},
        {"c": {"d": 1}},
        {"c": {"e": 2}, "": "empty key"},
        {"a": "three", "b": None},
    ]
    (tmp_path / "buffer").write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    body = build_body(tmp_path / "buffer", tmp_path / "body", "parquet", "snappy")
    table = pq.read_table(body.path)
    assert table.column_names == ["a", "b", "c", ""]
    assert table.to_pylist() == [
        {"a": "1", "b": None, "c": None, "": None},
        {"a": "2", "b": "x", "c": None, "": None},
        {"a": None, "b": None, "c": {"d": 1, "e": None}, "": None},
        {"a": None, "b": None, "c": {"d": None, "e": 2}, "": "empty key"},
        {"a": "three", "b": None, "c": None, "": None},
    ]
