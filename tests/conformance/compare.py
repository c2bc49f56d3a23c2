"""Compare logtide's output files with Fluent Bit 5.1.1's, by the corpora's rules.

One helper for every corpus (tail, plugins):

- records (``.jsonl``): in order; key order within a record does not matter; an int never
  equals a float (Fluent Bit writes the float 3.0 as ``3.0``); floats within a relative
  1e-6; ``true`` is not ``1``;
- invalid UTF-8: Fluent Bit 5.1.1 maps a bad byte 0xNN to the private-use U+E0NN (or drops
  it), logtide to U+FFFD; both are removed before comparing;
- ``.time.txt`` lines (``{time} {key}`` templates): the text after the time must match; the
  time must match to the microsecond, unless Fluent Bit's is later than 2025-01-01 (all
  sample data are older), which marks its ingestion time: logtide's must then fall within
  its own run.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

_DROP = {0xFFFD: None, **{0xE000 + n: None for n in range(256)}}
# Times after this are Fluent Bit's ingestion time (a record without a parsed time).
INGESTION_AFTER = Decimal(1735689600)  # 2025-01-01T00:00:00Z
_MICRO = Decimal("0.000001")


def clean_text(text: str) -> str:
    return text.translate(_DROP)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def load(path: Path) -> list[Any]:
    """The records of a JSON-lines file (missing file: none), invalid UTF-8 cleaned."""
    if not path.exists():
        return []
    text = path.read_bytes().decode("utf-8", "replace")
    return [_clean(json.loads(line)) for line in text.splitlines() if line.strip()]


def same(want: Any, got: Any) -> bool:
    """JSON values equal by the corpora's rules (see the module docstring)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    if isinstance(want, float) or isinstance(got, float):
        if not (isinstance(want, float) and isinstance(got, float)):
            return False
        if math.isnan(want) or math.isnan(got):
            return math.isnan(want) and math.isnan(got)
        return math.isclose(want, got, rel_tol=1e-6, abs_tol=0.0)
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and want.keys() == got.keys()
            and all(same(v, got[k]) for k, v in want.items())
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(want) == len(got)
            and all(same(w, g) for w, g in zip(want, got, strict=True))
        )
    return type(want) is type(got) and want == got


def differences(expected: list[Any], actual: list[Any], limit: int = 5) -> list[str]:
    """Human-readable mismatches between two record lists (empty when they match)."""
    out: list[str] = []
    if len(expected) != len(actual):
        out.append(f"{len(actual)} records, expected {len(expected)}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if not same(want, got):
            out.append(f"record {index}: expected {str(want)[:300]} got {str(got)[:300]}")
            if len(out) >= limit:
                break
    return out


def _time_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return clean_text(path.read_bytes().decode("utf-8", "replace")).splitlines()


def time_differences(
    expected: Path, actual: Path, run: tuple[float, float], limit: int = 5
) -> list[str]:
    """Mismatches between two ``{time} {key}`` template files; ``run`` is the (start, end)
    wall-clock time of logtide's run, where ingestion times must fall."""
    want_lines, got_lines = _time_lines(expected), _time_lines(actual)
    out: list[str] = []
    if len(want_lines) != len(got_lines):
        out.append(f"{len(got_lines)} lines, expected {len(want_lines)}")
    start = Decimal(run[0]).quantize(_MICRO, ROUND_FLOOR)
    end = Decimal(run[1]).quantize(_MICRO, ROUND_CEILING)
    for index, (want, got) in enumerate(zip(want_lines, got_lines, strict=False)):
        problem = _time_line_problem(want, got, start, end)
        if problem:
            out.append(f"line {index + 1}: {problem}: expected {want[:200]!r} got {got[:200]!r}")
            if len(out) >= limit:
                break
    return out


def _time_line_problem(want: str, got: str, start: Decimal, end: Decimal) -> str:
    want_time, _, want_rest = want.partition(" ")
    got_time, _, got_rest = got.partition(" ")
    if want_rest != got_rest:
        return "text differs"
    try:
        expected_time, actual_time = Decimal(want_time), Decimal(got_time)
    except ArithmeticError:
        return "not a time"
    if expected_time > INGESTION_AFTER:
        if not start <= actual_time <= end:
            return "ingestion time outside logtide's run"
        return ""
    if abs(expected_time - actual_time) >= _MICRO:
        return "time differs"
    return ""
