"""Where things live: every output is a sink (so the import rule of ``sinks/``, held by
``test_layering.py``, covers it), and the companion commands stay off the daemon's run path."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from agent.core.plugins import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """Absolute module names ``path`` imports, at any depth (lazy imports included)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            # ``from agent import engine`` names a module through the package.
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _module_file(module: str) -> Path:
    base = ROOT / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def test_every_output_lives_in_sinks() -> None:
    sinks = set(_sources("sinks"))
    for name, target in REGISTRY["output"].items():
        module = target.partition(":")[0]
        assert _within(module, "sinks"), f"output {name!r} lives in {module}, not in sinks/"
        assert _module_file(module) in sinks, name


def test_only_the_companions_and_the_pytest_plugin_import_the_companions() -> None:
    allowed = {ROOT / "agent" / "testing.py", *_sources("agent/companions")}
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for package in ("agent", "sinks", "streamsql")
        for path in _sources(package)
        if path not in allowed
        for line, module in _imported(path)
        if _within(module, "agent.companions")
    ]
    assert wrong == []
    # The CLI reaches them by name, only when a companion's subcommand is given.
    from agent.cli import SUBCOMMANDS

    assert all(_within(target, "agent.companions") for target in SUBCOMMANDS.values())


# Imports every module of the daemon (the companions and the pytest plugin aside), loads
# every registered plugin, and runs a short pipeline through the CLI's own run flow; then
# prints what of the companions (and of their heavy dependencies) got imported.
RUN_PATH = """
import json, pkgutil, importlib, sys
from agent.core.plugins import REGISTRY, load_plugin

def load_all(package):
    # Not pkgutil.walk_packages: it imports every package it walks, the companions too.
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name not in ("agent.companions", "agent.testing"):
            module = importlib.import_module(info.name)
            if info.ispkg:
                load_all(module)

load_all(importlib.import_module("agent"))
for kind, table in REGISTRY.items():
    for name in table:
        load_plugin(kind, name)
from agent.cli import main
code = main(["-i", "dummy", "-p", "rate=1000", "-p", "samples=3", "-o", "null", "--once", "-q"])
seen = sorted(m for m in sys.modules if m.split(".")[0] in ("moto", "duckdb", "boto3")
              or m.startswith("agent.companions"))
print(json.dumps({"code": code, "seen": seen}))
"""


def test_the_run_path_never_imports_the_companions(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN_PATH],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "seen": []}
