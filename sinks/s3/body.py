"""The bytes uploaded for a buffer: its JSON lines as-is, gzip/zstd of them, or Parquet.

Bodies are built deterministically (gzip without a timestamp or name, fixed zstd level), so
rebuilding one after a restart gives the same bytes and an in-flight multipart upload can be
resumed; the SHA-256 recorded in the journal proves it. A derived body is written beside its
buffer, or kept in memory when the disk has no room for it: an upload is what frees the
store's space, so one that needed free space first could never start on a disk the store
filled. Blocking: run in a thread.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from logtide.agent.core.serialize import dumps

_COPY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Body:
    path: Path
    size: int
    sha256: str
    # The body itself when it could not be written to ``path`` (a full disk).
    data: bytes | None = None

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data) if self.data is not None else self.path.open("rb")

    def read(self, offset: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(_COPY):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


# Writes the derived body of a buffer file to a path, or returns it when given none.
Writer = Callable[[Path, Path | None], bytes | None]


def _gzip(source: Path, target: Path | None) -> bytes | None:
    raw: IO[bytes] = io.BytesIO() if target is None else target.open("wb")
    with raw, source.open("rb") as src:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
            shutil.copyfileobj(src, out, _COPY)
        return raw.getvalue() if isinstance(raw, io.BytesIO) else None


def _zstd(source: Path, target: Path | None) -> bytes | None:
    import cramjam

    # cramjam streams file to file in Rust (the buffer is never held in memory whole) and
    # writes the content size in the frame header, which simple decoders need; into its own
    # Buffer the bytes are the same.
    src = cramjam.File(str(source), read=True)
    out = (
        cramjam.Buffer() if target is None else cramjam.File(str(target), write=True, truncate=True)
    )
    try:
        cramjam.zstd.compress_into(src, out, level=3)
    except cramjam.CompressionError as exc:
        # cramjam reports a file system error as text only: "... (os error 28)".
        failed = re.search(r"\(os error (\d+)\)", str(exc))
        if failed is None:
            raise
        raise OSError(int(failed[1]), str(exc)) from None
    data = None
    if target is None:
        out.seek(0)
        data = bytes(out.read())
    # A cramjam File has no close(): dropping the last reference closes it, here and now.
    del src, out
    return data


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


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every key of every row, in first-seen order, with each row's value (None where it
    has none). Not ``Table.from_pylist``: it takes the columns from the first row alone
    and drops, without a word, a key that only later records have."""
    names = dict.fromkeys(name for row in rows for name in row)
    return {name: [row.get(name) for row in rows] for name in names}


def _parquet(source: Path, target: Path | None, codec: str) -> bytes | None:
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
        table = pa.Table.from_pydict(_columns(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        _columns_to_text(rows, {name for row in rows for name in row})
        table = pa.Table.from_pydict(_columns(rows))
    sink = io.BytesIO() if target is None else target
    pq.write_table(table, sink, compression=codec if codec != "none" else "NONE")
    return sink.getvalue() if isinstance(sink, io.BytesIO) else None


def _writer(fmt: str, compression: str) -> Writer | None:
    if fmt == "parquet":
        return lambda source, target: _parquet(source, target, compression)
    return {"gzip": _gzip, "zstd": _zstd}.get(compression)


def build_body(source: Path, target: Path, fmt: str, compression: str) -> Body:
    """Make the upload body for the buffer file ``source`` (``target`` when derived, or
    memory when the disk has no room for ``target``)."""
    write = _writer(fmt, compression)
    if write is None:
        size, sha = _digest(source)
        return Body(source, size, sha)
    try:
        write(source, target)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        target.unlink(missing_ok=True)
        data = write(source, None)
        assert data is not None
        return Body(target, len(data), hashlib.sha256(data).hexdigest(), data)
    size, sha = _digest(target)
    return Body(target, size, sha)
