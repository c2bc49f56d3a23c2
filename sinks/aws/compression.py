"""Per-record compression for the Firehose output, with Fluent Bit's truncation rule.

gzip comes from the standard library; zstd and snappy (raw block format, as Fluent Bit's
snappy library writes) come from ``cramjam``, imported only when configured.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

Compressor = Callable[[bytes], bytes]

CODECS = ("gzip", "zstd", "snappy")
TRUNCATION_SUFFIX = b"[Truncated...]"
_MAX_ATTEMPTS = 10


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def compressor(name: str) -> Compressor:
    """The compress function for ``name``; raises ``ImportError`` if its library is absent."""
    if name == "gzip":
        return _gzip
    import cramjam

    if name == "zstd":
        return lambda data: bytes(cramjam.zstd.compress(data))
    if name == "snappy":
        return lambda data: bytes(cramjam.snappy.compress_raw(data))
    raise ValueError(f"unknown compression {name!r}")


def compress_within(compress: Compressor, data: bytes, limit: int) -> tuple[bytes, bool] | None:
    """Compress ``data``; if the result exceeds ``limit`` bytes, cut the input (ending it with
    ``[Truncated...]``) and try again, as Fluent Bit does. Returns the output and whether it
    was truncated, or ``None`` if nothing fits."""
    candidate = data
    for _ in range(_MAX_ATTEMPTS):
        out = compress(candidate)
        if len(out) <= limit:
            return out, candidate is not data
        cut = int(len(candidate) * limit / len(out) * 0.9)
        cut = min(cut, len(candidate) - 1)
        if cut < len(TRUNCATION_SUFFIX):
            return None
        candidate = candidate[: cut - len(TRUNCATION_SUFFIX)] + TRUNCATION_SUFFIX
    return None
