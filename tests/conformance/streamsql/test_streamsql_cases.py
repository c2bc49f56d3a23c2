"""The 28 Fluent Bit 5.1.1 stream-processor cases, through ``streamsql``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.streamsql.harness import DATA, case_dirs, records_match, run_case

# Case 24: Fluent Bit files the null-state records under two "state": 0 groups (its red-black
# tree compares groups of different types inconsistently); logtide keeps one group per value.
SPLIT_GROUP_CASES = {"case-24": ("state", "COUNT(*)")}


def merge_split_groups(rows: list[dict[str, Any]], key: str, count: str) -> list[dict[str, Any]]:
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:
        marker = (type(row[key]), row[key])
        if marker in merged:
            merged[marker][count] += row[count]
        else:
            merged[marker] = dict(row)
    return list(merged.values())


def test_every_case_is_vendored() -> None:
    assert len(case_dirs()) == 28
    assert (DATA / "records.jsonl").read_bytes().count(b"\n") == 400


@pytest.mark.parametrize("case_dir", case_dirs(), ids=lambda path: path.name)
def test_case(case_dir: Path) -> None:
    result = run_case(case_dir)
    expected = result.expected
    if case_dir.name in SPLIT_GROUP_CASES:
        key, count = SPLIT_GROUP_CASES[case_dir.name]
        expected = merge_split_groups(expected, key, count)
        assert len(expected) == len(result.expected) - 1
    assert records_match(expected, result.actual, result.unordered), (
        f"{result.statement}\nexpected {expected[:5]}...\nactual   {result.actual[:5]}..."
    )
