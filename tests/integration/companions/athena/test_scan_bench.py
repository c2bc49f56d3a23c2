"""The acceptance figure: on 7 days of app data, the Hive-partitioned gzip example answers a
one-day question scanning at most 1/50 of the bytes the article's layout needs (the bench in
examples/athena, run small)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("moto")

BENCH = Path(__file__).resolve().parents[4] / "examples" / "athena" / "bench_scan.py"


def test_hive_gzip_scans_at_most_a_fiftieth() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--per-day", "1000", "--skip-parquet"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = dict(
        re.findall(r"^\s+(article|hive-gzip)\s+([\d,]+) bytes", result.stdout, re.MULTILINE)
    )
    article, hive = (int(rows[name].replace(",", "")) for name in ("article", "hive-gzip"))
    assert hive * 50 <= article, result.stdout
    assert "DIFFERENT ANSWER" not in result.stdout
