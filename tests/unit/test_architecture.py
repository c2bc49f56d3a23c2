"""The rules that keep docs/architecture.md true, read from the source and checked by running.

Every module's imports are read with ``ast`` (nothing is imported), including imports inside
functions: a layer may not reach another even lazily. Imports under ``if TYPE_CHECKING:``
name types only and are allowed where the rule says "at run time".
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from logtide.agent.core.plugins import REGISTRY

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "sinks", "streamsql")
MAX_LINES = 420


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return "logtide." + ".".join(parts)


MODULES = {
    _module_name(path): path
    for package in PACKAGES
    for path in sorted((REPO / package).rglob("*.py"))
}


def _imports(module: str, path: Path, *, runtime_only: bool) -> set[tuple[int, str]]:
    """(line, module) for every logtide (or bare top-level) module ``path`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    type_only: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            found.add((node.lineno, base))
            # ``from logtide.agent import engine`` names a module through its package.
            found.update((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return {
        (line, name)
        for line, name in found
        if name in MODULES or name.split(".")[0] in (*PACKAGES, "logtide")
    }


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(
    layer: str,
    forbidden: tuple[str, ...],
    allowed: tuple[str, ...] = (),
    *,
    runtime_only: bool = False,
) -> list[str]:
    return sorted(
        f"{MODULES[module].relative_to(REPO)}:{line}: {name}"
        for module in MODULES
        if _within(module, layer)
        for line, name in _imports(module, MODULES[module], runtime_only=runtime_only)
        if any(_within(name, f) for f in forbidden) and not any(_within(name, a) for a in allowed)
    )


def test_nothing_imports_the_bare_top_level_names() -> None:
    # Installed, only logtide.agent, logtide.sinks and logtide.streamsql exist.
    assert _violations("logtide", PACKAGES) == []


@pytest.mark.parametrize("layer", ["logtide.sinks", "logtide.streamsql"])
def test_sinks_and_streamsql_use_only_the_core_of_the_agent(layer: str) -> None:
    assert _violations(layer, ("logtide.agent",), ("logtide.agent.core",)) == []


def test_the_core_imports_nothing_else_of_logtide_at_run_time() -> None:
    others = ("logtide.agent", "logtide.sinks", "logtide.streamsql")
    allowed = ("logtide.agent.core",)
    assert _violations("logtide.agent.core", others, allowed, runtime_only=True) == []


def test_streamsql_and_sinks_do_not_know_each_other() -> None:
    assert _violations("logtide.sinks", ("logtide.streamsql",)) == []
    assert _violations("logtide.streamsql", ("logtide.sinks",)) == []


def test_every_output_lives_in_sinks() -> None:
    for name, target in REGISTRY["output"].items():
        module = target.partition(":")[0]
        assert _within(module, "logtide.sinks") and module in MODULES, (name, module)


def test_only_the_companions_and_the_pytest_plugin_import_the_companions() -> None:
    companions = "logtide.agent.companions"
    layer_users = [
        line
        for line in _violations("logtide", (companions,))
        if not (line.startswith("agent/companions/") or line.startswith("agent/testing.py:"))
    ]
    assert layer_users == []
    # The CLI reaches them by name, only when a companion's subcommand is given.
    from logtide.agent.cli import SUBCOMMANDS

    assert all(_within(target, companions) for target in SUBCOMMANDS.values())


def test_modules_stay_small() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules (one concern each, ~400 lines): {long}"


def _run(script: str, cwd: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


SINKS_AND_STREAMSQL = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
seen = sorted(
    m for m in sys.modules
    if m.startswith("logtide.agent.") and not m.startswith("logtide.agent.core")
)
print(json.dumps({{"seen": seen}}))
"""


def test_importing_every_sink_and_streamsql_loads_nothing_of_the_agent_but_the_core(
    tmp_path: Path,
) -> None:
    modules = [m for m in MODULES if _within(m, "logtide.sinks") or _within(m, "logtide.streamsql")]
    assert _run(SINKS_AND_STREAMSQL.format(modules=modules), tmp_path) == {"seen": []}


# Imports every module of the daemon (the companions and the pytest plugin aside), loads
# every registered plugin, and runs a short pipeline through the CLI's own run flow; then
# reports what of the companions (and of their heavy dependencies) got imported.
RUN_PATH = """
import importlib, json, pkgutil, sys
import logtide.agent
from logtide.agent.core.plugins import REGISTRY, load_plugin

def load_all(package):
    # Not pkgutil.walk_packages: it imports every package it walks, the companions too.
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name not in ("logtide.agent.companions", "logtide.agent.testing"):
            module = importlib.import_module(info.name)
            if info.ispkg:
                load_all(module)

load_all(logtide.agent)
for kind, table in REGISTRY.items():
    for name in table:
        load_plugin(kind, name)
from logtide.agent.cli import main
code = main(["-i", "dummy", "-p", "rate=1000", "-p", "samples=3", "-o", "null", "--once", "-q"])
seen = sorted(m for m in sys.modules if m.split(".")[0] in ("moto", "duckdb", "boto3")
              or m.startswith("logtide.agent.companions"))
print(json.dumps({"code": code, "seen": seen}))
"""


def test_the_run_path_never_imports_the_companions(tmp_path: Path) -> None:
    assert _run(RUN_PATH, tmp_path) == {"code": 0, "seen": []}
