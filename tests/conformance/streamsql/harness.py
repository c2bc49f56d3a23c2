"""Run the Fluent Bit 5.1.1 stream-processor cases and compare with what it produced.

``run_case(case_dir)`` returns the expected and actual records of one case; the runner is
pluggable so the same cases can go through the real CLI (a runner that writes a config,
runs ``logtide -c ... --once`` and reads the ``file`` output) as well as through
``streamsql`` directly (the default).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.core.errors import Location
from logtide.agent.core.events import Ack, Chunk
from logtide.streamsql import StreamProcessor, StreamTask

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


LOGTIDE = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "logtide"
_CONFIG = """[SERVICE]
    Flush        1
    Parsers_File parsers.conf
    Streams_File streams.conf
[INPUT]
    Name             tail
    Alias            {alias}
    Tag              {tag}
    Path             {logs}/*.log
    Parser           json
    DB               {work}/tail.db
    Read_from_Head   On
[OUTPUT]
    Name   file
    Match  out.*
    Format plain
    Path   {out}
"""


def write_cli_config(work: Path, statements: list[str]) -> Path:
    """The pipeline of the conformance README: tail -> stream tasks -> file, one per tag."""
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "out").mkdir(exist_ok=True)
    (work / "logs" / "orders.log").write_bytes(RECORDS.read_bytes())
    (work / "parsers.conf").write_text("[PARSER]\n    Name   json\n    Format json\n")
    tasks = "".join(
        f"[STREAM_TASK]\n    Name task{i}\n    Exec {sql}\n" for i, sql in enumerate(statements)
    )
    (work / "streams.conf").write_text(tasks)
    config = work / "fluent-bit.conf"
    config.write_text(
        _CONFIG.format(
            alias=INPUT_ALIAS, tag=INPUT_TAG, logs=work / "logs", work=work, out=work / "out"
        )
    )
    return config


def run_cases_cli(work: Path, cases: list[Path]) -> dict[str, CaseResult]:
    """Every case as one stream task of a single ``logtide -c ... --once`` run."""
    statements = [statement_for(case) for case in cases]
    config = write_cli_config(work, [sql for sql, _ in statements])
    completed = subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"logtide failed ({completed.returncode}):\n{completed.stderr}")
    results = {}
    for case, (sql, tag) in zip(cases, statements, strict=True):
        produced = work / "out" / tag
        results[case.name] = CaseResult(
            name=case.name,
            statement=sql,
            expected=read_jsonl(case / "expected.jsonl"),
            actual=read_jsonl(produced) if produced.exists() else [],
            unordered=case.name in UNORDERED,
        )
    return results
