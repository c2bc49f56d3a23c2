"""The real ``logtide`` process with ``Use_Kubelet On`` (as the Container Insights DaemonSet runs
it): tail over a kubelet-style /var/log/containers tree, the kubernetes filter asking a kubelet
stand-in on 127.0.0.1 for ``/pods`` over HTTPS with the service-account token, a file output.
Every record arrives once, carrying its own pod's metadata."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from logtide.agent.inputs.tail.tagging import TagComposer
from tests.support.cli import start_logtide
from tests.support.fake_kube_api import TOKEN, make_tls
from tests.support.fake_kubelet import FakeKubelet, fake_kubelet, free_port

DATA = Path(__file__).resolve().parents[1] / "unit" / "filters" / "data"
PODS = [("default", f"orders-{n}-5d9c", f"{n:x}" * 64) for n in range(1, 4)]
LINES_PER_POD = 40


def pod_object(namespace: str, name: str, container_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "pod_ordering_app.json").read_text())
    body["metadata"].update(name=name, namespace=namespace, uid=f"uid-{name}", labels={"app": name})
    status = body["status"]["containerStatuses"][0]
    status.update(name="app", containerID=f"containerd://{container_id}")
    return body


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_use_kubelet_every_record_carries_its_pods_metadata(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    containers = tmp_path / "var/log/containers"
    containers.mkdir(parents=True)
    state = FakeKubelet()
    for namespace, name, cid in PODS:
        state.add_pod(pod_object(namespace, name, cid))
        log = tmp_path / "var/log/pods" / f"{namespace}_{name}_uid-{name}" / "app" / "0.log"
        log.parent.mkdir(parents=True)
        with log.open("w") as handle:
            for n in range(LINES_PER_POD):
                sale = json.dumps({"pod": name, "n": n})
                entry = {"log": sale + "\n", "stream": "stdout", "time": "2024-05-01T00:00:00Z"}
                handle.write(json.dumps(entry) + "\n")
        (containers / f"{name}_{namespace}_app-{cid}.log").symlink_to(log)
    out = tmp_path / "out"
    out.mkdir()
    prefix = TagComposer("kube.*", None)(str(containers) + "/")
    with fake_kubelet(tls, state) as kubelet:
        _, port = kubelet.host_port
        conf = tmp_path / "fluent-bit.conf"
        conf.write_text(
            f"""[SERVICE]
    Flush         0.2
    Grace         5
[INPUT]
    Name              tail
    Tag               kube.*
    Path              {containers}/*.log
    Parser            docker
    Read_from_Head    On
    DB                {tmp_path}/flb_kube.db
[FILTER]
    Name              kubernetes
    Match             kube.*
    Kube_URL          https://127.0.0.1:{free_port()}
    Kube_CA_File      {tls.ca_file}
    Kube_Token_File   {token}
    Kube_Tag_Prefix   {prefix}
    Merge_Log         On
    Keep_Log          Off
    Use_Kubelet       On
    Kubelet_Host      127.0.0.1
    Kubelet_Port      {port}
    Buffer_Size       0
[OUTPUT]
    Name    file
    Match   kube.*
    Path    {out}
    File    records.jsonl
    Format  plain
"""
        )
        proc = start_logtide("-c", str(conf), cwd=str(tmp_path))
        total = LINES_PER_POD * len(PODS)
        deadline = time.monotonic() + 60
        try:
            while len(read_records(out / "records.jsonl")) < total:
                assert proc.poll() is None, "logtide exited early"
                assert time.monotonic() < deadline, "records did not all arrive"
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, stderr = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
        requests = list(kubelet.requests)
    assert proc.returncode == 0, stderr[-3000:]
    records = read_records(out / "records.jsonl")
    assert sorted((r["pod"], r["n"]) for r in records) == sorted(
        (name, n) for _, name, _ in PODS for n in range(LINES_PER_POD)
    ), "every line once"
    for record in records:
        kube = record["kubernetes"]
        name = record["pod"]
        cid = next(c for _, p, c in PODS if p == name)
        assert kube["pod_name"] == name
        assert kube["pod_id"] == f"uid-{name}"
        assert kube["labels"] == {"app": name}
        assert kube["host"] == "ip-192-168-12-34.us-east-1.compute.internal"
        assert kube["docker_id"] == cid
        assert kube["container_image"].endswith("logging-demo-app:latest")
    assert requests and all(r == ("/pods", f"Bearer {TOKEN}") for r in requests)
    assert TOKEN not in stderr
