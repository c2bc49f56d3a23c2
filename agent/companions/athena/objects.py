"""Where a table's objects come from (S3 over HTTP, or a local folder standing in for the
bucket) and how their bytes become records: JSON lines, gzip, zstd or Parquet.

Compression is recognised by its magic bytes. Athena itself goes by the key's extension
(``.gz``, ``.zst``), so an object whose extension does not say what it is gets a warning: it
would be read as plain text there.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from logtide.agent.companions.athena.table import AthenaError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
_DOWNLOAD_THREADS = 8


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int


class Source(Protocol):
    def describe(self, key: str) -> str: ...

    def list(self, prefix: str) -> list[StoredObject]: ...

    def read(self, key: str) -> bytes: ...


class LocalSource:
    """A folder whose files are the bucket's objects (``root/<key>``)."""

    def __init__(self, root: str, bucket: str) -> None:
        self.root = Path(root)
        self.bucket = bucket
        if not self.root.is_dir():
            raise AthenaError(f"{root}: not a folder")

    def describe(self, key: str) -> str:
        return str(self.root / key)

    def list(self, prefix: str) -> list[StoredObject]:
        found = []
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(StoredObject(key, path.stat().st_size))
        return sorted(found, key=lambda o: o.key)

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


class S3Source:
    """The objects of an S3 bucket (any endpoint: AWS, or moto on 127.0.0.1)."""

    def __init__(self, bucket: str, endpoint: str | None = None, region: str | None = None):
        import boto3

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or os.environ.get("AWS_REGION") or "us-east-1",
        )

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def list(self, prefix: str) -> list[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: list[StoredObject] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                found.extend(StoredObject(o["Key"], o["Size"]) for o in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise AthenaError(f"listing s3://{self.bucket}/{prefix}: {exc}") from None
        return found

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


def read_all(source: Source, keys: list[str]) -> Iterator[tuple[str, bytes]]:
    """The objects' bytes, in ``keys`` order, fetched a few at a time."""
    with ThreadPoolExecutor(_DOWNLOAD_THREADS) as pool:
        yield from zip(keys, pool.map(source.read, keys), strict=True)


def kind_of(data: bytes) -> str:
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if data.startswith(ZSTD_MAGIC):
        return "zstd"
    if data.startswith(PARQUET_MAGIC):
        return "parquet"
    return "text"


def extension_warning(key: str, kind: str) -> str | None:
    expected = {"gzip": (".gz",), "zstd": (".zst", ".zstd")}.get(kind)
    if expected and not key.lower().endswith(expected):
        return (
            f"{key}: {kind} data without a {expected[0]} extension; Athena picks the codec "
            f"from the extension and would read it as text (end s3_key_format with "
            f"{expected[0]})"
        )
    return None


def decompress(data: bytes, kind: str, where: str) -> bytes:
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        if kind == "zstd":
            import cramjam

            try:
                return bytes(cramjam.zstd.decompress(data))
            except cramjam.DecompressionError as exc:
                raise AthenaError(
                    f"HIVE_CURSOR_ERROR: {where}: corrupt {kind} data ({exc})"
                ) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise AthenaError(f"HIVE_CURSOR_ERROR: {where}: corrupt {kind} data ({exc})") from None
    return data


def json_lines(text: bytes) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)``; a line that is not JSON gives :data:`MALFORMED`.
    Empty lines are skipped."""
    for number, line in enumerate(text.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError:
            yield number, MALFORMED


MALFORMED = object()


def parquet_rows(data: bytes, connection: Any, folder: str | None = None) -> list[dict[str, Any]]:
    """The rows of a Parquet object; ``folder`` holds the temporary copy DuckDB reads."""
    with tempfile.NamedTemporaryFile(suffix=".parquet", dir=folder) as handle:
        handle.write(data)
        handle.flush()
        relation = connection.read_parquet(handle.name)
        names = relation.columns
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def parquet_column_bytes(data: bytes, connection: Any, folder: str | None = None) -> dict[str, int]:
    """Compressed bytes per top-level column: what Athena reads for the columns a query uses."""
    with tempfile.NamedTemporaryFile(suffix=".parquet", dir=folder) as handle:
        handle.write(data)
        handle.flush()
        rows = connection.execute(
            "SELECT path_in_schema, total_compressed_size FROM parquet_metadata(?)",
            [handle.name],
        ).fetchall()
    sizes: dict[str, int] = {}
    for path, size in rows:
        top = str(path).split(",", 1)[0].lower()
        sizes[top] = sizes.get(top, 0) + int(size)
    return sizes
