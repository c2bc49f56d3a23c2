"""The configs most EKS clusters run, kept as their users wrote them, pass ``--dry-run``:
AWS's Container Insights ConfigMap (``tests/data/container-insights``: fluent-bit.conf
@INCLUDEs three files, ``${VAR}``s from the DaemonSet's env), the CloudWatch Observability
EKS add-on's version of it (``tests/data/cloudwatch-observability``: its application-log.conf)
and the Fluent Bit Helm chart's default config (``tests/data/helm-chart``), with the stock
parsers file the image ships beside it, all as written (the chart's two ``es`` outputs
included).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def mount(name: str, target: Path) -> Path:
    """The config files as Kubernetes mounts them in one folder; its fluent-bit.conf."""
    for path in (DATA / name).iterdir():
        shutil.copy(path, target / path.name)
    return target / "fluent-bit.conf"


def dry_run(conf: Path, env: dict[str, str] | None = None) -> None:
    result = run_logtide("-c", str(conf), "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configuration test is successful"


def test_container_insights_configmap_passes_dry_run(tmp_path: Path) -> None:
    dry_run(mount("container-insights", tmp_path), CONTAINER_INSIGHTS_ENV)


def test_the_cloudwatch_observability_add_ons_config_passes_dry_run(tmp_path: Path) -> None:
    """The EKS add-on's application-log.conf (``tests/data/cloudwatch-observability``) sets
    Use_Pod_Association and add_entity, which were refused as unknown options."""
    conf = mount("container-insights", tmp_path)
    mount("cloudwatch-observability", tmp_path)
    dry_run(conf, CONTAINER_INSIGHTS_ENV)


def stock_parsers_file(target: Path) -> None:
    """``parsers.conf`` as the image has it beside the chart's config: the Dockerfile writes
    /fluent-bit/etc/parsers.conf with the same command."""
    result = subprocess.run(
        [sys.executable, "-m", "logtide.agent.parsers.stock"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "[PARSER]" in result.stdout
    (target / "parsers.conf").write_text(result.stdout)


def test_helm_chart_config_passes_dry_run(tmp_path: Path) -> None:
    conf = mount("helm-chart", tmp_path)  # its two es outputs as they are
    stock_parsers_file(tmp_path)
    dry_run(conf)
