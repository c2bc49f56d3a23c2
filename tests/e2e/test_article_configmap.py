"""The article's ConfigMap, verbatim (the shell's $S3_BUCKET/$AWS_REGION filled in), runs
unchanged: its three files are extracted from the ConfigMap as Kubernetes mounts them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.cli import run_logtide

CONFIGMAP = Path(__file__).resolve().parents[1] / "data" / "article-configmap.yaml"


def mount_configmap(target: Path) -> Path:
    data = yaml.safe_load(CONFIGMAP.read_text())["data"]
    assert sorted(data) == ["fluent-bit.conf", "parsers.conf", "streams.conf"]
    for name, content in data.items():
        (target / name).write_text(content)
    return target / "fluent-bit.conf"


def test_article_configmap_passes_dry_run(tmp_path: Path) -> None:
    conf = mount_configmap(tmp_path)
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configuration test is successful"
