"""A node's log tree, as kubelet lays it out, shipped by ``logtide`` run as the DaemonSet runs it.

/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log holds the runtime's JSON lines;
/var/log/containers/<pod>_<ns>_<container>-<id>.log links to it. Kubelet rotates by renaming
0.log to 0.log.<timestamp> and starting a new 0.log behind the same link. The agent runs as a
long-lived process with the kubernetes filter pointed at a fake API server (TLS, token) and
a file output instead of S3/CloudWatch; SIGTERM ends it as the kubelet would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.inputs.tail.tagging import TagComposer
from tests.support.fake_kube_api import TOKEN, FakeKubeApi, fake_kube_api, make_tls

ROOT = Path(__file__).resolve().parents[2]
LOGTIDE = Path(sys.executable).with_name("logtide")
DATA = ROOT / "tests" / "unit" / "filters" / "data"
APP_ID = "9f2c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e"
APP_POD = "ordering-app-7d9c6b9f5b-x2l8q"
APP_UID = "0f3b1c8e-6a52-4d3f-9a6e-6f1e4c9b2d11"
GONE_ID = "1" * 64
GONE_POD = "batch-job-x7k2m"


def docker_line(n: int, state: str) -> str:
    sale = json.dumps({"item_id": str(n), "state": state}, separators=(",", ":"))
    record = {"log": sale + "\n", "stream": "stdout", "time": f"2020-11-11T00:17:{n:02d}.5Z"}
    return json.dumps(record) + "\n"


class Node:
    """A kubelet-style log tree under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.containers = root / "var" / "log" / "containers"
        self.containers.mkdir(parents=True)

    def add(self, namespace: str, pod: str, uid: str, container: str, cid: str) -> Path:
        log = self.root / "var/log/pods" / f"{namespace}_{pod}_{uid}" / container / "0.log"
        log.parent.mkdir(parents=True)
        log.touch()
        (self.containers / f"{pod}_{namespace}_{container}-{cid}.log").symlink_to(log)
        return log

    @staticmethod
    def write(log: Path, lines: list[str]) -> None:
        with log.open("a") as handle:
            handle.writelines(lines)

    @staticmethod
    def rotate(log: Path) -> Path:
        rotated = log.with_name("0.log.20201111-001735")
        log.rename(rotated)
        log.touch()
        return rotated


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(path: Path, count: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(read_records(path)) < count:
        if proc.poll() is not None:
            raise AssertionError(f"logtide exited early with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(read_records(path))} of {count} records after {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def api(tmp_path: Path) -> Any:
    tls = make_tls(tmp_path)
    state = FakeKubeApi()
    state.add_pod(json.loads((DATA / "pod_ordering_app.json").read_text()))
    with fake_kube_api(state, tls) as server:
        yield server, tls


def test_daemonset_style_run_tags_every_record_with_kubernetes_metadata(
    tmp_path: Path, api: tuple[FakeKubeApi, Any]
) -> None:
    server, tls = api
    node = Node(tmp_path / "node")
    app_log = node.add("default", APP_POD, APP_UID, "ordering-app", APP_ID)
    gone_log = node.add("jobs", GONE_POD, "uid-gone", "worker", GONE_ID)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    out = tmp_path / "out"
    out.mkdir()
    prefix = TagComposer("kube.*", None)(str(node.containers) + "/")
    (tmp_path / "parsers.conf").write_bytes((ROOT / "examples/article/parsers.conf").read_bytes())
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"""[SERVICE]
    Flush         0.2
    Grace         5
    Parsers_File  parsers.conf
[INPUT]
    Name              tail
    Tag               kube.*
    Path              {node.containers}/*.log
    Parser            docker
    DB                {node.root}/var/log/flb_kube.db
    Refresh_Interval  1
    Rotate_Wait       5
[FILTER]
    Name              kubernetes
    Match             kube.*
    Kube_URL          {server.url}
    Kube_CA_File      {tls.ca_file}
    Kube_Token_File   {token}
    Kube_Tag_Prefix   {prefix}
    Merge_Log         On
    Keep_Log          Off
[OUTPUT]
    Name    file
    Match   kube.*
    Path    {out}
    File    records.jsonl
    Format  plain
"""
    )
    records_file = out / "records.jsonl"
    env = {**os.environ, "NODE_NAME": "ip-192-168-12-34.us-east-1.compute.internal"}
    proc = subprocess.Popen(
        [str(LOGTIDE), "-c", str(conf)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stderr = b""
    try:
        # Like the article's config, tail starts existing files at their end (no
        # Read_from_Head): the pods start logging once the agent watches their files.
        db = node.root / "var/log/flb_kube.db"
        deadline = time.monotonic() + 15
        while not db.exists():
            assert time.monotonic() < deadline, "tail never opened its DB"
            time.sleep(0.05)
        time.sleep(1.0)
        node.write(app_log, [docker_line(n, "CA") for n in range(5)])
        node.write(gone_log, [docker_line(100, "WA")])
        wait_for(records_file, 6, proc)
        # Give the background metadata fetch time to land, then rotate the way kubelet does:
        # lines still unread in the renamed file and lines in the new 0.log must all arrive.
        deadline = time.monotonic() + 10
        # The filter's warm-up lists the node's pods at start; a per-pod GET serves the same.
        while not any(
            path.startswith("/api/v1/pods?fieldSelector=spec.nodeName")
            or path == f"/api/v1/namespaces/default/pods/{APP_POD}"
            for path in server.paths()
        ):
            assert time.monotonic() < deadline, server.paths()
            time.sleep(0.05)
        time.sleep(0.3)
        node.write(app_log, [docker_line(n, "NY") for n in range(5, 8)])
        node.rotate(app_log)
        node.write(app_log, [docker_line(n, "TX") for n in range(8, 12)])
        wait_for(records_file, 13, proc)
    except AssertionError as exc:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        raise AssertionError(f"{exc}\nlogtide stderr:\n{stderr.decode()[-3000:]}") from None
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr.decode()[-3000:]

    records = read_records(records_file)
    app = [r for r in records if r["kubernetes"]["pod_name"] == APP_POD]
    gone = [r for r in records if r["kubernetes"]["pod_name"] == GONE_POD]
    assert sorted(int(r["item_id"]) for r in app) == list(range(12)), "no line lost or doubled"
    assert [r["item_id"] for r in gone] == ["100"]
    for record in records:
        assert "log" not in record and record["stream"] == "stdout"
        assert list(record)[-1] == "kubernetes"
    for record in app:
        kube = record["kubernetes"]
        assert kube["namespace_name"] == "default"
        assert kube["container_name"] == "ordering-app"
        assert kube["docker_id"] == APP_ID
    assert gone[0]["kubernetes"] == {
        "pod_name": GONE_POD,
        "namespace_name": "jobs",
        "container_name": "worker",
        "docker_id": GONE_ID,
    }
    # Everything written after the API answered carries the API's metadata too.
    for record in (r for r in app if int(r["item_id"]) >= 5):
        kube = record["kubernetes"]
        assert kube["labels"] == {"app": "ordering-app", "pod-template-hash": "7d9c6b9f5b"}
        assert kube["pod_id"] == APP_UID
        assert kube["host"] == "ip-192-168-12-34.us-east-1.compute.internal"
        assert kube["container_image"].endswith("logging-demo-app:latest")
    assert all(auth == f"Bearer {TOKEN}" for _, auth in server.requests)
    assert TOKEN not in stderr.decode()
