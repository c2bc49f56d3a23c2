"""Schema validation, hadolint and checkov over k8s/ and the Dockerfile, from .venv-tools."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import K8S, ROOT, apply_json_patch, find, manifest_files

KUBERNETES_VERSION = "1.30.0"
Tool = Callable[[str], Path]


def run(args: list[Any], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # The tools run offline: any attempt to phone home hits a closed local port at once.
    closed = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "NO_PROXY": "",
    }
    return subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_every_manifest_validates_against_the_kubernetes_schemas(tool: Tool) -> None:
    files = manifest_files()
    result = run([tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", *files])
    assert result.returncode == 0, result.stdout + result.stderr
    for path in files:
        assert f"{path.relative_to(ROOT)} passed" in result.stdout


def test_schema_validation_catches_a_misspelt_field(tool: Tool, tmp_path: Path) -> None:
    text = (K8S / "daemonset.yaml").read_text().replace("readOnlyRootFilesystem", "readOnlyRootFS")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = run([tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", bad])
    assert result.returncode != 0
    assert "readOnlyRootFS" in result.stdout + result.stderr


def test_hadolint_is_clean(tool: Tool) -> None:
    result = run([tool("hadolint"), "Dockerfile"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov(tool: Tool) -> list[dict[str, Any]]:
    """One checkov run over k8s/ and the Dockerfile (it takes a while), offline."""
    files = [*manifest_files(), ROOT / "Dockerfile"]
    args: list[Any] = [tool("checkov"), "--skip-download", "-o", "json"]
    args += ["--framework", "kubernetes", "dockerfile"]
    for path in files:
        args += ["-f", path]
    result = run(args)
    assert result.stdout, result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_reports_no_failed_check(checkov: list[dict[str, Any]]) -> None:
    assert {report["check_type"] for report in checkov} == {"kubernetes", "dockerfile"}
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in checkov
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(report["summary"]["failed"] for report in checkov) == 0
    assert sum(report["summary"]["parsing_errors"] for report in checkov) == 0
    assert sum(report["summary"]["passed"] for report in checkov) > 100


def test_checkov_skips_are_the_annotated_ones(checkov: list[dict[str, Any]]) -> None:
    skipped = [check for report in checkov for check in report["results"]["skipped_checks"]]
    assert skipped
    for check in skipped:
        assert check["check_result"]["suppress_comment"].strip(), check["check_id"]


def test_daemonset_with_the_docker_runtime_component_validates(tool: Tool, tmp_path: Path) -> None:
    component = yaml.safe_load((K8S / "docker-runtime" / "kustomization.yaml").read_text())
    (patch,) = component["patches"]
    patched = apply_json_patch(find("DaemonSet", "logtide"), yaml.safe_load(patch["patch"]))
    path = tmp_path / "daemonset-docker.yaml"
    path.write_text(yaml.safe_dump(patched))
    result = run([tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", path])
    assert result.returncode == 0, result.stdout + result.stderr
