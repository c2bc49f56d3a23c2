"""Run the Fluent Bit 5.1.1 stream-processor cases and compare with what it produced.

``run_case(case_dir)`` returns the expected and actual records of one case; the runner is
pluggable so the same cases can go through the real CLI (a runner that writes a config,
runs ``logtide -c ... --once`` and reads the ``file`` output) as well as through
``streamsql`` directly (the default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.core.errors import Location
from agent.core.events import Ack, Chunk
from streamsql import StreamProcessor, StreamTask

DATA = Path(__file__).parent / "data"
RECORDS = DATA / "records.jsonl"
INPUT_TAG = "sp.orders"
INPUT_ALIAS = "orders_in"
# Windowed aggregates: compared as multisets with a float tolerance (float32 packing).
UNORDERED = frozenset({"case-22", "case-23", "case-24"})

Runner = Callable[[str, str, Path], list[dict[str, Any]]]


@dataclass
class CaseResult:
    name: str
    statement: str
    expected: list[dict[str, Any]]
    actual: list[dict[str, Any]]
    unordered: bool

    def matches(self) -> bool:
        return records_match(self.expected, self.actual, self.unordered)


def case_dirs() -> list[Path]:
    return sorted(path for path in DATA.iterdir() if path.name.startswith("case-"))


def statement_for(case_dir: Path) -> tuple[str, str]:
    """The streams-file statement Fluent Bit ran for the case, and its output tag."""
    number = case_dir.name.split("-")[1]
    query = (case_dir / "query.sql").read_text().strip()
    tag = f"out.{number}"
    return f"CREATE STREAM q{number} WITH (tag='{tag}') AS {query}", tag


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def run_streamsql(statement: str, tag: str, records_path: Path) -> list[dict[str, Any]]:
    """The default runner: one chunk from the ``orders_in`` input, then a final flush."""
    processor = StreamProcessor([StreamTask("conformance", statement, Location("streams.conf", 1))])
    base = 1_700_000_000.0
    events = [(base + i / 1000, record) for i, record in enumerate(read_jsonl(records_path))]
    source = Chunk(INPUT_TAG, events, Ack(), source=INPUT_ALIAS)
    derived = processor.process(source) + processor.flush()
    return [record for chunk in derived if chunk.tag == tag for _, record in chunk.events]


def run_case(case_dir: Path, runner: Runner = run_streamsql) -> CaseResult:
    statement, tag = statement_for(case_dir)
    return CaseResult(
        name=case_dir.name,
        statement=statement,
        expected=read_jsonl(case_dir / "expected.jsonl"),
        actual=runner(statement, tag, RECORDS),
        unordered=case_dir.name in UNORDERED,
    )


def values_match(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, bool) or isinstance(actual, bool):
            return False
        if not isinstance(expected, int | float) or not isinstance(actual, int | float):
            return False
        return math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return list(expected) == list(actual) and all(
            values_match(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(values_match, expected, actual))
    return type(expected) is type(actual) and expected == actual


def records_match(
    expected: list[dict[str, Any]], actual: list[dict[str, Any]], unordered: bool
) -> bool:
    if len(expected) != len(actual):
        return False
    if not unordered:
        return all(map(values_match, expected, actual))
    remaining = list(actual)
    for record in expected:
        for index, candidate in enumerate(remaining):
            if values_match(record, candidate):
                del remaining[index]
                break
        else:
            return False
    return True
