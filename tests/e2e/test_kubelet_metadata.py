"""The real ``logtide`` process with ``Use_Kubelet On`` (as the Container Insights DaemonSet runs
it): tail over a kubelet-style /var/log/containers tree, the kubernetes filter asking a kubelet
stand-in on 127.0.0.1 for ``/pods`` over HTTPS with the service-account token, a file output.
Every record arrives once, carrying its own pod's metadata; while the kubelet is unreachable
records keep flowing with the file name's fields, and the metadata comes back with it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from logtide.agent.inputs.tail.tagging import TagComposer
from tests.support.cli import start_logtide, whole_json_lines
from tests.support.fake_kube_api import TOKEN, TlsFiles, make_tls
from tests.support.fake_kubelet import FakeKubelet, fake_kubelet, free_port

DATA = Path(__file__).resolve().parents[1] / "unit" / "filters" / "data"
PODS = [("default", f"orders-{n}-5d9c", f"{n:x}" * 64) for n in range(1, 4)]
LINES_PER_POD = 40

CONFIG = """\
[SERVICE]
    Flush         0.2
    Grace         5
[INPUT]
    Name              tail
    Tag               kube.*
    Path              {containers}/*.log
    Parser            docker
    Read_from_Head    On
    Refresh_Interval  1
    DB                {root}/flb_kube.db
[FILTER]
    Name              kubernetes
    Match             kube.*
    Kube_URL          https://127.0.0.1:{api_port}
    Kube_CA_File      {ca}
    Kube_Token_File   {token}
    Kube_Tag_Prefix   {prefix}
    Merge_Log         On
    Keep_Log          Off
    Use_Kubelet       On
    Kubelet_Host      127.0.0.1
    Kubelet_Port      {kubelet_port}
    Buffer_Size       0
[OUTPUT]
    Name    file
    Match   kube.*
    Path    {out}
    File    records.jsonl
    Format  plain
"""


def pod_object(namespace: str, name: str, container_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "pod_ordering_app.json").read_text())
    body["metadata"].update(name=name, namespace=namespace, uid=f"uid-{name}", labels={"app": name})
    status = body["status"]["containerStatuses"][0]
    status.update(name="app", containerID=f"containerd://{container_id}")
    return body


def kubelet_state() -> FakeKubelet:
    state = FakeKubelet()
    for namespace, name, cid in PODS:
        state.add_pod(pod_object(namespace, name, cid))
    return state


def write_lines(log: Path, name: str, numbers: range) -> None:
    with log.open("a") as handle:
        for n in numbers:
            entry = {"log": json.dumps({"pod": name, "n": n}) + "\n", "stream": "stdout"}
            handle.write(json.dumps({**entry, "time": "2024-05-01T00:00:00Z"}) + "\n")


def node(tmp_path: Path, tls: TlsFiles, kubelet_port: int) -> tuple[Path, dict[str, Path], Path]:
    """The log tree, token and config: (config, log file per pod, output file)."""
    token = tmp_path / "token"
    token.write_text(TOKEN)
    containers = tmp_path / "var/log/containers"
    containers.mkdir(parents=True)
    logs = {}
    for namespace, name, cid in PODS:
        log = tmp_path / "var/log/pods" / f"{namespace}_{name}_uid-{name}" / "app" / "0.log"
        log.parent.mkdir(parents=True)
        write_lines(log, name, range(LINES_PER_POD))
        (containers / f"{name}_{namespace}_app-{cid}.log").symlink_to(log)
        logs[name] = log
    out = tmp_path / "out"
    out.mkdir()
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        CONFIG.format(
            containers=containers,
            root=tmp_path,
            api_port=free_port(),  # no API server: with Use_Kubelet it is never asked
            ca=tls.ca_file,
            token=token,
            prefix=TagComposer("kube.*", None)(str(containers) + "/"),
            kubelet_port=kubelet_port,
            out=out,
        )
    )
    return conf, logs, out / "records.jsonl"


def read_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = whole_json_lines(path)
    return records


def wait_for(path: Path, count: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(read_records(path)) < count:
        assert proc.poll() is None, "logtide exited early"
        assert time.monotonic() < deadline, f"{len(read_records(path))} of {count} records"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    return stderr


def assert_full_metadata(record: dict[str, Any]) -> None:
    kube, name = record["kubernetes"], record["pod"]
    cid = next(c for _, p, c in PODS if p == name)
    assert kube["pod_name"] == name
    assert kube["pod_id"] == f"uid-{name}"
    assert kube["labels"] == {"app": name}
    assert kube["host"] == "ip-192-168-12-34.us-east-1.compute.internal"
    assert kube["docker_id"] == cid
    assert kube["container_image"].endswith("logging-demo-app:latest")


def test_use_kubelet_every_record_carries_its_pods_metadata(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    with fake_kubelet(tls, kubelet_state()) as kubelet:
        conf, _, records_file = node(tmp_path, tls, int(kubelet.host_port[1]))
        proc = start_logtide("-c", str(conf), cwd=str(tmp_path))
        try:
            wait_for(records_file, LINES_PER_POD * len(PODS), proc)
        finally:
            stderr = stop(proc)
        requests = list(kubelet.requests)
    records = read_records(records_file)
    assert sorted((r["pod"], r["n"]) for r in records) == sorted(
        (name, n) for _, name, _ in PODS for n in range(LINES_PER_POD)
    ), "every line once"
    for record in records:
        assert_full_metadata(record)
    assert requests and all(r == ("/pods", f"Bearer {TOKEN}") for r in requests)
    assert TOKEN not in stderr


def test_kubelet_unreachable_then_back_nothing_lost(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    port = free_port()
    conf, logs, records_file = node(tmp_path, tls, port)
    proc = start_logtide("-c", str(conf), cwd=str(tmp_path))
    try:
        first = LINES_PER_POD * len(PODS)
        wait_for(records_file, first, proc)
        with fake_kubelet(tls, kubelet_state(), port=port):
            written = LINES_PER_POD
            deadline = time.monotonic() + 90
            # Keep the pods logging until their records carry the kubelet's metadata again.
            while not any("pod_id" in r["kubernetes"] for r in read_records(records_file)):
                assert time.monotonic() < deadline, "metadata never came back"
                for _, name, _ in PODS:
                    write_lines(logs[name], name, range(written, written + 2))
                written += 2
                time.sleep(0.5)
            for _, name, _ in PODS:
                write_lines(logs[name], name, range(written, written + 5))
            written += 5
            wait_for(records_file, written * len(PODS), proc)
    finally:
        stderr = stop(proc)
    records = read_records(records_file)
    assert sorted((r["pod"], r["n"]) for r in records) == sorted(
        (name, n) for _, name, _ in PODS for n in range(written)
    ), "every line once, down or not"
    for record in records[:first]:
        assert set(record["kubernetes"]) == {
            "pod_name",
            "namespace_name",
            "container_name",
            "docker_id",
        }
    for name in {r["pod"] for r in records}:
        own = [r for r in records if r["pod"] == name]
        tail = own[-5:]  # written after the metadata was back
        for record in tail:
            assert_full_metadata(record)
    assert stderr.count("records keep flowing without API metadata") == 1, stderr[-3000:]
    assert f"cannot connect to 127.0.0.1:{port}" in stderr
    assert "source is back" in stderr
