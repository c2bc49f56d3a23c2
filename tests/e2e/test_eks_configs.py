"""The two configs most EKS clusters run, kept as their users wrote them, pass ``--dry-run``:
AWS's Container Insights ConfigMap (``tests/data/container-insights``: fluent-bit.conf
@INCLUDEs three files, ``${VAR}``s from the DaemonSet's env) and the Fluent Bit Helm chart's
default config (``tests/data/helm-chart``).

The full runs are marked xfail(strict) with what is still missing; the ``_otherwise`` tests
take out exactly those pieces and check every other section and option passes today.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_logtide

DATA = Path(__file__).resolve().parents[1] / "data"

# What the Container Insights DaemonSet sets from its fluent-bit-cluster-info ConfigMap and
# the node's name.
CONTAINER_INSIGHTS_ENV = {
    "AWS_REGION": "us-west-2",
    "CLUSTER_NAME": "demo-cluster",
    "HOST_NAME": "ip-10-0-1-23.us-west-2.compute.internal",
    "HTTP_SERVER": "On",
    "HTTP_PORT": "2020",
    "READ_FROM_HEAD": "Off",
    "READ_FROM_TAIL": "On",
}

SECTION = re.compile(r"(?m)^(?=\[)")


def mount(name: str, target: Path) -> Path:
    """The config files as Kubernetes mounts them in one folder; its fluent-bit.conf."""
    for path in (DATA / name).iterdir():
        shutil.copy(path, target / path.name)
    return target / "fluent-bit.conf"


def edit_sections(folder: Path, edit: dict[str, str | None]) -> list[str]:
    """Replace (or drop, for None) every section whose ``Name`` is a key of ``edit``, in
    every file of ``folder``; the names replaced, in file order."""
    seen = []
    for path in sorted(folder.glob("*.conf")):
        parts = []
        for part in SECTION.split(path.read_text()):
            name = re.search(r"(?mi)^\s*Name\s+(\S+)\s*$", part)
            if part.startswith("[") and name and name.group(1) in edit:
                seen.append(name.group(1))
                replacement = edit[name.group(1)]
                if replacement is None:
                    continue
                match = re.search(r"(?mi)^\s*Match\s+(\S+)\s*$", part)
                assert match is not None
                part = replacement.format(match=match.group(1))
            parts.append(part)
        path.write_text("".join(parts))
    return seen


def dry_run(conf: Path, env: dict[str, str] | None = None) -> None:
    result = run_logtide("-c", str(conf), "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configuration test is successful"


@pytest.mark.xfail(
    strict=True,
    reason="needs the systemd input (dataplane-log.conf, i16/systemd) and the aws filter "
    "(dataplane-log.conf and host-log.conf, i16/awsfilter)",
)
def test_container_insights_configmap_passes_dry_run(tmp_path: Path) -> None:
    dry_run(mount("container-insights", tmp_path), CONTAINER_INSIGHTS_ENV)


def test_container_insights_configmap_passes_dry_run_otherwise(tmp_path: Path) -> None:
    conf = mount("container-insights", tmp_path)
    dropped = edit_sections(tmp_path, {"systemd": None, "aws": None})
    assert dropped == ["systemd", "aws", "aws"]  # exactly the pieces the xfail names
    dry_run(conf, CONTAINER_INSIGHTS_ENV)


# The chart's es outputs belong to issue 18: both become file outputs, same Match.
FILE_FOR_ES = "[OUTPUT]\n    Name file\n    Match {match}\n    Path /tmp/logtide-helm\n\n"


@pytest.mark.xfail(
    strict=True,
    reason="needs the systemd input (i16/systemd) and parsers.conf, the stock parsers file "
    "the Fluent Bit image has beside the chart's fluent-bit.conf (i16/parsers)",
)
def test_helm_chart_config_passes_dry_run(tmp_path: Path) -> None:
    conf = mount("helm-chart", tmp_path)
    assert edit_sections(tmp_path, {"es": FILE_FOR_ES}) == ["es", "es"]
    dry_run(conf)


def test_helm_chart_config_passes_dry_run_otherwise(tmp_path: Path) -> None:
    conf = mount("helm-chart", tmp_path)
    assert edit_sections(tmp_path, {"es": FILE_FOR_ES, "systemd": None}) == [
        "systemd",
        "es",
        "es",
    ]
    # A stand-in for the image's parsers.conf: the chart's sections name no parser of it.
    (tmp_path / "parsers.conf").write_text("")
    dry_run(conf)
