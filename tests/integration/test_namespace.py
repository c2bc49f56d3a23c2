"""logtide installs under one import name and coexists with a project's own packages.

Projects often have packages named ``agent``, ``sinks`` or ``streamsql`` of their own. A wheel
that installed those top-level names broke such a project's pytest as soon as logtide was
installed (its pytest plugin ``agent.testing`` was looked up in the project's ``agent``) and
made ``from agent import ...`` ambiguous. These tests build the real wheel and run a real
project's pytest session next to the installed logtide.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 240
# What the Dockerfile's build stage copies: the wheel is built from these alone.
SOURCES = ("pyproject.toml", "README.md", "logtide", "agent", "sinks", "streamsql")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy, so the build leaves no build/ or egg-info behind in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                source / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=DEADLINE,
        capture_output=True,
    )
    (built,) = out.glob("logtide-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the wheel installed (not editable), as a user's project has it.

    Its dependencies come from this test run's environment through a ``.pth`` line; that adds
    the folder only, so the development install's own ``logtide`` (an editable finder loaded by
    a ``.pth`` file there) stays out, and the wheel is the one logtide the project sees.
    """
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=DEADLINE,
        capture_output=True,
    )
    return python


def test_the_wheel_holds_only_the_logtide_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_text = archive.read(entry_points).decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert len(tops) == 2 and "logtide" in tops, tops
    assert all(top == "logtide" or top.endswith(".dist-info") for top in tops), tops
    for module in (
        "logtide/__init__.py",
        "logtide/py.typed",
        "logtide/agent/cli.py",
        "logtide/agent/core/errors.py",
        "logtide/sinks/s3/__init__.py",
        "logtide/streamsql/__init__.py",
    ):
        assert module in names, module
    # Real files, not the repository's links (a wheel cannot carry symlinks).
    with zipfile.ZipFile(wheel) as archive:
        assert archive.getinfo("logtide/agent/cli.py").file_size > 1000
    assert "logtide = logtide.agent.cli:main" in entry_text
    assert "logtide = logtide.agent.testing" in entry_text


PROJECT_TEST = '''
from agent import WHO as AGENT
from sinks import WHO as SINKS
from streamsql import WHO as STREAMSQL

from logtide import Pipeline

CONFIG = """
[INPUT]
    Name lib
    Tag  app
[OUTPUT]
    Name  lib
    Alias seen
    Match app
"""


def test_its_own_packages_are_its_own():
    assert (AGENT, SINKS, STREAMSQL) == ("project", "project", "project")


def test_the_logtide_pytest_plugin_runs_a_pipeline(logtide_pipeline):
    p = logtide_pipeline(CONFIG)
    p.push("app", {"log": "one"})
    p.push("app", {"log": "two"})
    assert [r["log"] for r in p.output("seen").wait_for_sync(2)] == ["one", "two"]
    assert p.drain() == 0


def test_the_library_face_is_logtide():
    import logtide

    assert Pipeline.__module__ == "logtide.agent.api"
    assert "site-packages" in logtide.__file__, logtide.__file__
'''


def test_a_project_with_its_own_agent_sinks_and_streamsql_uses_the_plugin(
    installed: Path, tmp_path: Path
) -> None:
    for package in ("agent", "sinks", "streamsql"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('WHO = "project"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_project.py").write_text(textwrap.dedent(PROJECT_TEST))
    # The project's root first on sys.path, as `python -m pytest` run from it puts it.
    result = subprocess.run(
        [str(installed), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout, result.stdout
