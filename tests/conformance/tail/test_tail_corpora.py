"""The four tail corpora (docker, docker-split, docker-long, cri) give exactly Fluent Bit
5.1.1's records through ``logtide -c <their fluent-bit.conf> --once``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.compare import differences, load

HERE = Path(__file__).parent
CASES = ["docker", "docker-split", "docker-long", "cri"]
LOGTIDE = Path(sys.executable).with_name("logtide")


def _run(case: str, tmp_path: Path) -> Path:
    log_dir, state_dir, out_dir = (tmp_path / name for name in ("log", "state", "out"))
    for folder in (log_dir, state_dir, out_dir):
        folder.mkdir()
    shutil.copyfile(HERE / case / "input.log", log_dir / "0.log")
    env = dict(os.environ, LOG_DIR=str(log_dir), STATE_DIR=str(state_dir), OUT_DIR=str(out_dir))
    result = subprocess.run(
        [str(LOGTIDE), "-c", "fluent-bit.conf", "--once"],
        cwd=HERE / case,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out_dir / "records.jsonl"


@pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv")
@pytest.mark.parametrize("case", CASES)
def test_corpus_matches_fluent_bit(case: str, tmp_path: Path) -> None:
    records = _run(case, tmp_path)
    assert differences(load(HERE / case / "expected.jsonl"), load(records)) == []


@pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv")
def test_second_run_with_same_db_reads_nothing_new(tmp_path: Path) -> None:
    first = _run("cri", tmp_path)
    first.unlink()
    # Same folders, same DB: every line was acknowledged, so nothing is read again.
    env = dict(
        os.environ,
        LOG_DIR=str(tmp_path / "log"),
        STATE_DIR=str(tmp_path / "state"),
        OUT_DIR=str(tmp_path / "out"),
    )
    result = subprocess.run(
        [str(LOGTIDE), "-c", "fluent-bit.conf", "--once"],
        cwd=HERE / "cri",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not first.exists() or first.read_bytes() == b""
