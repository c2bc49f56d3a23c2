"""What may import what: ``sinks`` and ``streamsql`` take only the core from ``agent``, and the
core takes nothing else of ``agent`` at run time (type-only imports excepted)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _agent_imports(path: Path, *, runtime_only: bool) -> list[str]:
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "agent" or name.startswith("agent.")]


def _outside_core(names: list[str]) -> list[str]:
    return [name for name in names if not name.startswith("agent.core")]


def test_sinks_and_streamsql_import_only_the_core() -> None:
    wrong = {
        str(path.relative_to(ROOT)): bad
        for package in ("sinks", "streamsql")
        for path in sorted((ROOT / package).rglob("*.py"))
        if (bad := _outside_core(_agent_imports(path, runtime_only=False)))
    }
    assert wrong == {}


def test_the_core_imports_nothing_else_of_the_agent_at_run_time() -> None:
    wrong = {
        str(path.relative_to(ROOT)): bad
        for path in sorted((ROOT / "agent" / "core").rglob("*.py"))
        if (bad := _outside_core(_agent_imports(path, runtime_only=True)))
    }
    assert wrong == {}


def test_importing_every_sink_and_streamsql_loads_no_agent_module_beyond_the_core() -> None:
    sinks = sorted(p.parent.name for p in (ROOT / "sinks").glob("*/__init__.py"))
    script = (
        "import importlib, sys\n"
        f"for name in {[f'sinks.{s}' for s in sinks] + ['streamsql']!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('agent.')"
        " and not m.startswith('agent.core')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
