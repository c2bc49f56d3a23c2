"""`make demo` and `make test` from a fresh clone, in either order, read by `make -n`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _plan(where: Path, target: str) -> list[str]:
    """The commands ``make target`` would run there. Run under ``make test``, the outer
    make's variables would make this one print directory lines, so they are left out."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=where,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return result.stdout.splitlines()


def _extras(commands: list[str]) -> list[set[str]]:
    """The extras of each install of the project."""
    return [
        set(found.split(","))
        for line in commands
        if "pip install" in line
        for found in re.findall(r"'\.\[([^\]]*)\]'", line)
    ]


def test_demo_from_a_fresh_clone_says_so_and_installs_only_the_demo_extra(clone: Path) -> None:
    plan = _plan(clone, "demo")
    assert _extras(plan) == [{"demo"}]
    progress = [line for line in plan if line.startswith("echo") and "install" in line]
    assert progress and re.search(r"min", progress[0]), plan
    assert plan[-1].endswith("logtide demo")


def _fake_install(where: Path, stamp: str) -> None:
    (where / ".venv/bin").mkdir(parents=True, exist_ok=True)
    (where / ".venv/bin/python").touch()
    later = time.time() + 5
    for path in (where / ".venv/bin/python", where / ".venv" / stamp):
        path.touch()
        os.utime(path, (later, later))


def test_test_after_demo_installs_the_test_extra(clone: Path) -> None:
    _fake_install(clone, ".installed-demo")
    assert {"test", "demo"} <= set().union(*_extras(_plan(clone, "install")))
    assert _extras(_plan(clone, "demo")) == []


def test_demo_after_test_reuses_the_venv(clone: Path) -> None:
    _fake_install(clone, ".installed")
    plan = _plan(clone, "demo")
    assert not any("-m venv" in line for line in plan)
    assert _extras(plan) == [{"demo"}]
