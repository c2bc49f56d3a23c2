"""Compare logtide's records with Fluent Bit's expected.jsonl, as the corpus README says:
in order, as JSON values; invalid UTF-8 compared with the replacement characters removed
(Fluent Bit 5.1.1 maps the bad bytes to private-use code points, logtide to U+FFFD)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Fluent Bit 5.1.1 turns an invalid byte 0xNN into U+E0NN; logtide into U+FFFD.
_DROP = {0xFFFD: None, **{0xE000 + n: None for n in range(256)}}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_DROP)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def load(path: Path) -> list[Any]:
    text = path.read_bytes().decode("utf-8", "replace")
    return [_clean(json.loads(line)) for line in text.splitlines() if line.strip()]


def differences(expected: list[Any], actual: list[Any], limit: int = 5) -> list[str]:
    out: list[str] = []
    if len(expected) != len(actual):
        out.append(f"{len(actual)} records, expected {len(expected)}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            out.append(f"record {index}: expected {str(want)[:300]} got {str(got)[:300]}")
            if len(out) >= limit:
                break
    return out
