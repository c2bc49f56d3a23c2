"""The bytes uploaded for a buffer: its JSON lines as-is, gzip/zstd of them, or Parquet.

Bodies are built deterministically (gzip without a timestamp or name, fixed zstd level), so
rebuilding one after a restart gives the same bytes and an in-flight multipart upload can be
resumed; the SHA-256 recorded in the journal proves it. Blocking: run in a thread.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.core.serialize import dumps

_COPY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Body:
    path: Path
    size: int
    sha256: str


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(_COPY):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _gzip(source: Path, target: Path) -> None:
    with (
        source.open("rb") as src,
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out,
    ):
        shutil.copyfileobj(src, out, _COPY)


def _zstd(source: Path, target: Path) -> None:
    import cramjam

    # cramjam streams file to file in Rust (the buffer is never held in memory whole) and
    # writes the content size in the frame header, which simple decoders need.
    src = cramjam.File(str(source), read=True)
    out = cramjam.File(str(target), write=True, truncate=True)
    cramjam.zstd.compress_into(src, out, level=3)
    # A cramjam File has no close(): dropping the last reference closes it, here and now.
    del src, out


def _columns_to_text(rows: list[dict[str, Any]], names: set[str]) -> None:
    for row in rows:
        for name in names:
            value = row.get(name)
            if value is not None and not isinstance(value, str):
                row[name] = dumps(value).decode()


def _mixed_columns(rows: list[dict[str, Any]]) -> set[str]:
    kinds: dict[str, set[type]] = {}
    for row in rows:
        for name, value in row.items():
            if value is not None:
                kinds.setdefault(name, set()).add(type(value))
    return {name for name, types in kinds.items() if len(types) > 1}


def _parquet(source: Path, target: Path, codec: str) -> None:
    """One row per record, columns in first-seen order; schema inferred from the records.

    A column whose values disagree in type (a number here, a string there) is written as
    strings, JSON-encoded where needed, so one odd record never fails the whole object.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with source.open("rb") as handle:
        rows = [orjson.loads(line) for line in handle if line.strip()]
    _columns_to_text(rows, _mixed_columns(rows))
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        _columns_to_text(rows, {name for row in rows for name in row})
        table = pa.Table.from_pylist(rows)
    pq.write_table(table, target, compression=codec if codec != "none" else "NONE")


def build_body(source: Path, target: Path, fmt: str, compression: str) -> Body:
    """Make the upload body for the buffer file ``source`` (``target`` when derived)."""
    if fmt == "parquet":
        _parquet(source, target, compression)
    elif compression == "gzip":
        _gzip(source, target)
    elif compression == "zstd":
        _zstd(source, target)
    else:
        target = source
    size, sha = _digest(target)
    return Body(target, size, sha)


def read_range(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(length)
