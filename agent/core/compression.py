"""Compressing one body or record: gzip from the standard library; zstd and snappy (raw
block format, as Fluent Bit's snappy library writes) from ``cramjam``, imported only when
configured. The AWS record outputs and the HTTP transport share it."""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable

Compressor = Callable[[bytes], bytes]

CODECS = ("gzip", "zstd", "snappy")


def _gzip(level: int, data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def compressor(name: str, gzip_level: int = 9) -> Compressor:
    """The compress function for ``name``; raises ``ImportError`` if its library is absent.
    ``gzip_level``: the HTTP outputs trade a few percent of size for speed with 6."""
    if name == "gzip":
        return functools.partial(_gzip, gzip_level)
    import cramjam

    if name == "zstd":
        return lambda data: bytes(cramjam.zstd.compress(data))
    if name == "snappy":
        return lambda data: bytes(cramjam.snappy.compress_raw(data))
    raise ValueError(f"unknown compression {name!r}")
