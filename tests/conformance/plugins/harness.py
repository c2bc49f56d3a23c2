"""Run the Fluent Bit 5.1.1 plugin cases (``cases/<name>/``) through the real CLI and
compare what logtide writes with what Fluent Bit wrote.

A case folder holds ``fluent-bit.conf`` (plus ``parsers.conf`` / ``*.lua`` it names by
relative path), ``input/`` (copied as is into LOG_DIR), ``expected/`` (Fluent Bit's output
files, unmodified) and ``NOTES``. Per case: the config files are copied to a temp folder,
LOG_DIR/STATE_DIR/OUT_DIR are set, ``logtide -c fluent-bit.conf --once`` runs there (at most
120 s), then every expected file is compared with the same file in OUT_DIR
(:mod:`tests.conformance.compare`), and any file Fluent Bit did not write must be absent or
empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conformance.compare import differences, load, time_differences

CASES = Path(__file__).parent / "cases"
LOGTIDE = Path(sys.executable).with_name("logtide")
TIMEOUT = 120.0


@dataclass(frozen=True)
class Run:
    out_dir: Path
    started: float
    ended: float
    returncode: int
    stderr: str


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "fluent-bit.conf").is_file())


def run_case(name: str, work: Path) -> Run:
    """Run one case under ``work`` (a fresh temp folder) as the corpus README says."""
    case = CASES / name
    conf, log_dir, state_dir, out_dir = (work / d for d in ("conf", "log", "state", "out"))
    for folder in (conf, state_dir, out_dir):
        folder.mkdir(parents=True)
    for path in case.iterdir():
        if path.is_file() and path.name != "NOTES":
            shutil.copyfile(path, conf / path.name)
    if (case / "input").is_dir():
        shutil.copytree(case / "input", log_dir)
    else:
        log_dir.mkdir()
    env = dict(os.environ, LOG_DIR=str(log_dir), STATE_DIR=str(state_dir), OUT_DIR=str(out_dir))
    started = time.time()
    result = subprocess.run(
        [str(LOGTIDE), "-c", "fluent-bit.conf", "--once"],
        cwd=conf,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return Run(out_dir, started, time.time(), result.returncode, result.stderr)


def compare(name: str, run: Run) -> list[str]:
    """Every difference between Fluent Bit's expected files and logtide's OUT_DIR."""
    expected_dir = CASES / name / "expected"
    expected = {p.name for p in expected_dir.iterdir() if p.is_file()}
    problems: list[str] = []
    for file_name in sorted(expected):
        want, got = expected_dir / file_name, run.out_dir / file_name
        if file_name.endswith(".time.txt"):
            found = time_differences(want, got, (run.started, run.ended))
        else:
            found = differences(load(want), load(got))
        problems += [f"{file_name}: {p}" for p in found]
    for path in sorted(run.out_dir.rglob("*")):
        relative = str(path.relative_to(run.out_dir))
        if path.is_file() and relative not in expected and path.stat().st_size:
            problems.append(f"{relative}: Fluent Bit wrote nothing, logtide wrote records")
    return problems
