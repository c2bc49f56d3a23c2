"""zstd upload bodies: streamed file to file, deterministic, readable by the local Athena."""

from __future__ import annotations

from pathlib import Path

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
