"""The 28 cases through the real CLI: tail -> stream tasks -> file output, in one run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conformance.streamsql.harness import (
    LOGTIDE,
    case_dirs,
    records_match,
    run_cases_cli,
    write_cli_config,
)
from tests.conformance.streamsql.test_streamsql_cases import SPLIT_GROUP_CASES, merge_split_groups

pytestmark = pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed")


def test_all_cases_through_the_cli(tmp_path: Path) -> None:
    results = run_cases_cli(tmp_path, case_dirs())
    failures = []
    for name, result in results.items():
        expected = result.expected
        if name in SPLIT_GROUP_CASES:
            expected = merge_split_groups(expected, *SPLIT_GROUP_CASES[name])
        if not records_match(expected, result.actual, result.unordered):
            failures.append(
                f"{name}: {result.statement}\n  expected {expected[:3]}\n  actual {result.actual[:3]}"
            )
    assert not failures, "\n".join(failures)


def test_dry_run_reports_a_bad_query_with_a_caret(tmp_path: Path) -> None:
    bad = "CREATE STREAM s AS SELECT * FROM TAG:'sp*' WHERE state == 'CA';"
    config = write_cli_config(tmp_path, [bad])
    completed = subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert "stream task 'task0': expected ';', got '=='" in completed.stderr
    caret_line = " " * (4 + bad.index("==")) + "^"
    assert caret_line in completed.stderr.splitlines()
