"""Per-record compression for the Kinesis outputs, with Fluent Bit's truncation rule (the
codecs themselves: :mod:`logtide.agent.core.compression`)."""

from __future__ import annotations

from logtide.agent.core.compression import CODECS, Compressor, compressor

__all__ = ["CODECS", "TRUNCATION_SUFFIX", "Compressor", "compress_within", "compressor"]

TRUNCATION_SUFFIX = b"[Truncated...]"
_MAX_ATTEMPTS = 10


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
