"""``logtide demo`` end to end, short: the real CLI, moto, pods, logtide as a process, the
local Athena and the consistency check."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("moto")

LOGTIDE = Path(sys.executable).with_name("logtide")


def test_demo_short_run_loses_and_duplicates_nothing() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(LOGTIDE), "demo", "--duration", "5", "--rate", "20", "--pods", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "[OUTPUT] upload_timeout 3m -> 5s" in out
    assert "== the article's query\nSELECT * from eks_fb_s3\nLIMIT 10" in out
    assert "== CA sales by product category" in out
    assert "product_category | orders | units | revenue" in out
    assert out.count("Data scanned:") == 2
    verdict = re.search(
        r"the app wrote (\d+) records: (\d+) .* (\d+) .*-> 0 lost, 0 duplicated, 0 misrouted", out
    )
    assert verdict is not None, out
    written, in_s3, in_cw = (int(g) for g in verdict.groups())
    assert written == 2 * 5 * 20 == in_s3 + in_cw
    assert elapsed < 60


def test_demo_keep_leaves_the_data(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(LOGTIDE), "demo", "--duration", "2", "--rate", "10", "--pods", "1", "--keep"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"kept in (\S+):", result.stdout)
    assert match is not None, result.stdout
    workdir = Path(match.group(1))
    try:
        assert (workdir / "fluent-bit.conf").is_file()
        assert (workdir / "cloudwatch" / "fluent-bit-cloudwatch-demo.jsonl").is_file()
        assert (workdir / "s3").is_dir()
        query = re.search(r"logtide athena query (.+)\n", result.stdout)
        assert query is not None
        again = subprocess.run(
            [
                str(LOGTIDE),
                "athena",
                "query",
                "--ddl",
                str(workdir / "eks_fb_s3.sql"),
                "--local",
                str(workdir / "s3"),
                "SELECT count(*) FROM eks_fb_s3 WHERE state <> 'CA'",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.splitlines()[2].strip() == "0"
    finally:
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
