"""The k8s/ manifests, Dockerfile and IAM policy say what the deployment promises."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from tests.deploy.conftest import K8S, ROOT, apply_json_patch, find, load_all, manifest_files

ARTICLE = ROOT / "examples" / "article"
STATE = "/var/lib/logtide"
DOCKER = "/var/lib/docker/containers"
# The shipped ConfigMap is examples/article/ with these lines changed, each named in its
# header comment: the state moves out of the node's (read-only) /var/log.
CONFIGMAP_DIFFERENCES = {
    "fluent-bit.conf": [
        ("DB                /var/log/flb_kube.db", f"DB                {STATE}/flb_kube.db"),
        ("store_dir /var/log/fluentbit", f"store_dir {STATE}/fluentbit"),
        ("Mem_Buf_Limit     256MB", "Mem_Buf_Limit     16MB"),
    ]
}


def test_configmap_files_are_the_example_config_but_for_the_documented_differences() -> None:
    data = find("ConfigMap", "fluent-bit-config")["data"]
    assert sorted(data) == ["fluent-bit.conf", "parsers.conf", "streams.conf"]
    header = (K8S / "configmap.yaml").read_text().split("apiVersion:", 1)[0]
    for name, text in data.items():
        expected = (ARTICLE / name).read_text()
        for article_line, shipped_line in CONFIGMAP_DIFFERENCES.get(name, []):
            assert expected.count(f"    {article_line}\n") == 1, article_line
            expected = expected.replace(f"    {article_line}\n", f"    {shipped_line}\n")
            value = shipped_line.split()[-1]
            assert value in header and article_line.split()[-1] in header, article_line
        assert text == expected, name


def test_example_config_is_the_articles_plus_http_server_and_env_placeholders() -> None:
    conf = (ARTICLE / "fluent-bit.conf").read_text()
    assert "    HTTP_Server   On\n" in conf
    assert "    bucket ${S3_BUCKET}\n" in conf
    assert conf.count("region ${AWS_REGION}") == 2
    assert "Path              /var/log/containers/*.log" in conf
    streams = (ARTICLE / "streams.conf").read_text()
    assert "WHERE state = 'CA';" in streams and "WHERE state <> 'CA';" in streams


def test_kustomization_lists_every_agent_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    names = {p.name for p in manifest_files()} - {"ordering-app.yaml"}
    assert set(kustomization["resources"]) == names


def test_every_namespaced_object_is_in_logtide_except_the_sample_app() -> None:
    for doc in load_all():
        if doc["kind"] in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            continue
        expected = "default" if doc["metadata"]["name"] == "ordering-app" else "logtide"
        assert doc["metadata"]["namespace"] == expected, doc["metadata"]["name"]


def test_rbac_is_read_only_on_pods_and_namespaces() -> None:
    role = find("ClusterRole", "logtide-read")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods", "namespaces"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    binding = find("ClusterRoleBinding", "logtide-read")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "logtide", "namespace": "logtide"}
    ]
    account = find("ServiceAccount", "logtide")
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]


def test_daemonset_is_locked_down_and_probed() -> None:
    ds = find("DaemonSet", "logtide")
    pod = ds["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["priorityClassName"]
    assert pod["serviceAccountName"] == "logtide"
    assert container["args"] == ["-c", "/fluent-bit/etc/fluent-bit.conf"]
    assert container["resources"] == {
        "limits": {"memory": "256Mi"},
        "requests": {"cpu": "500m", "memory": "100Mi"},
    }
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == "http" and get["path"].startswith("/api/v1/")
    assert container["ports"] == [{"name": "http", "containerPort": 2020, "protocol": "TCP"}]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/fluent-bit/etc/"]["readOnly"] is True
    # the node's logs read-only; one writable folder of our own for the state
    writable = [path for path, m in mounts.items() if not m.get("readOnly", False)]
    assert sorted(writable) == ["/tmp", STATE]
    host = {v["name"]: v["hostPath"] for v in pod["volumes"] if "hostPath" in v}
    by_path = {h["path"]: h.get("type", "") for h in host.values()}
    assert by_path == {
        "/var/log/containers": "Directory",
        "/var/log/pods": "Directory",
        STATE: "DirectoryOrCreate",
    }
    for name, source in host.items():
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == name]
        assert mount["mountPath"] == source["path"], name


def test_docker_runtime_component_adds_the_docker_logs_read_only_without_creating_them() -> None:
    component = yaml.safe_load((K8S / "docker-runtime" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    (patch,) = component["patches"]
    assert patch["target"] == {"kind": "DaemonSet", "name": "logtide"}
    ds = apply_json_patch(find("DaemonSet", "logtide"), yaml.safe_load(patch["patch"]))
    pod = ds["spec"]["template"]["spec"]
    docker = [v for v in pod["volumes"] if v.get("hostPath", {}).get("path") == DOCKER]
    # Directory: kubelet checks it exists. DirectoryOrCreate and "" would create it on a
    # containerd node (kubelet, resp. containerd's CRI plugin, makes missing sources).
    assert [v["hostPath"]["type"] for v in docker] == ["Directory"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == DOCKER]
    assert mount["readOnly"] is True and mount["name"] == docker[0]["name"]


def test_network_policy_admits_port_2020_from_the_scraper_only() -> None:
    policy = find("NetworkPolicy", "logtide")["spec"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 2020}]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]


def test_state_paths_of_the_config_are_on_the_writable_host_mount() -> None:
    conf = find("ConfigMap", "fluent-bit-config")["data"]["fluent-bit.conf"]
    db = re.search(r"^\s*DB\s+(\S+)$", conf, re.MULTILINE)
    store = re.search(r"^\s*store_dir\s+(\S+)$", conf, re.MULTILINE)
    assert db and store
    (container,) = find("DaemonSet", "logtide")["spec"]["template"]["spec"]["containers"]
    writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    # sqlite writes its journal beside the DB: the DB's directory must be writable
    for path in (os.path.dirname(db.group(1)), store.group(1)):
        assert any(path == w or path.startswith(w + "/") for w in writable), path


def test_termination_grace_exceeds_the_service_grace() -> None:
    conf = (ARTICLE / "fluent-bit.conf").read_text()
    match = re.search(r"^\s*Grace\s+(\d+)", conf, re.MULTILINE | re.IGNORECASE)
    grace = int(match.group(1)) if match else 5  # Fluent Bit's default
    pod = find("DaemonSet", "logtide")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > grace


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = 0
    for doc in load_all():
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                skips += 1
                check, _, reason = value.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check), value
                assert len(reason.split()) >= 5, f"skip of {check} needs a written reason"
    assert skips > 0


def test_sample_app_is_the_articles_deployment() -> None:
    app = find("Deployment", "ordering-app")
    assert app["spec"]["replicas"] == 3
    (container,) = app["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "ordering-app"
    assert container["ports"] == [{"containerPort": 3000}]


def test_iam_policy_is_least_privilege() -> None:
    policy = json.loads((K8S / "iam-policy.json").read_text())
    grants: dict[str, list[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            assert "*" not in action, action
            grants[action] = [resources] if isinstance(resources, str) else resources
    assert sorted(grants) == sorted(
        [
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
            "s3:ListBucketMultipartUploads",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:PutRetentionPolicy",
            "logs:GetLogEvents",
            "firehose:PutRecordBatch",
            "kms:GenerateDataKey",
            "kms:Decrypt",
        ]
    )
    assert grants["s3:PutObject"] == ["arn:aws:s3:::BUCKET/fluent-bit-logs/*"]
    # the one bucket-level action: finding uploads a crash left unrecorded
    assert grants["s3:ListBucketMultipartUploads"] == ["arn:aws:s3:::BUCKET"]
    assert grants["logs:GetLogEvents"] == [
        "arn:aws:logs:REGION:ACCOUNT_ID:log-group:fluent-bit-cloudwatch-demo:log-stream:*"
    ]
    for action, resources in grants.items():
        for resource in resources:
            assert resource != "*", action
            if action.startswith("logs:"):
                assert ":log-group:fluent-bit-cloudwatch-demo" in resource
    kms = next(s for s in policy["Statement"] if "kms:Decrypt" in s["Action"])
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.REGION.amazonaws.com"}}


def test_dockerfile_runs_the_article_config_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms == ["python:3.11.11-slim-bookworm"] * 2
    assert 'CMD ["-c", "/fluent-bit/etc/fluent-bit.conf"]' in text
    assert 'ENTRYPOINT ["logtide"]' in text
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert "http://127.0.0.1:2020/api/v1/health" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    final_stage = text.split("\nFROM ")[-1]
    assert "gcc" not in final_stage and "build-essential" not in final_stage
    labels = re.findall(r"org\.opencontainers\.image\.(\w+)=", text)
    assert {"title", "version", "licenses"} <= set(labels)


def test_dockerignore_sends_only_the_sources() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**" in lines
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert kept == {
        "pyproject.toml",
        "README.md",
        "constraints.txt",
        "logtide",
        "agent",
        "streamsql",
        "sinks",
        "examples/article",
    }
    for name in kept:
        assert (ROOT / name).exists(), name
    # Every file the Dockerfile copies from the context is sent (a COPY of an ignored file
    # fails the build).
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M)
    for sources in copied:
        for source in sources.split():
            assert source.rstrip("/") in kept, source


def test_manifest_files_exist() -> None:
    names = {p.name for p in manifest_files()}
    assert {"daemonset.yaml", "configmap.yaml", "rbac.yaml", "ordering-app.yaml"} <= names
    assert Path(K8S / "kustomization.yaml").exists()
