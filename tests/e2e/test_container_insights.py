"""AWS's Container Insights config (``tests/data/container-insights``) run by the real
``logtide`` process over a node-like tree, into three CloudWatch log groups on a moto server.

The tree under ``tmp_path/node`` is what the DaemonSet mounts from the node:
``var/log/containers/*.log`` symlinks into ``var/log/pods/<ns>_<pod>_<uid>/<container>/0.log``
(docker and CRI lines; the ``amazon-cloudwatch`` agents that the first tail input excludes and
their own inputs pick up; the ``aws-node``/``kube-proxy`` data-plane containers),
``var/log/journal/<machine-id>/system.journal`` (real journal files with kubelet, containerd,
docker and an unrelated unit), ``var/log/dmesg``, ``var/log/messages`` and
``var/log/secure``. Pod metadata comes from the kubelet stand-in over HTTPS
(``Use_Kubelet On``), instance fields from the IMDSv2 stand-in.

What :func:`point_at_node` changes in the mounted files, and why (nothing else is touched):
- every absolute ``/var/...`` path (``Path``, ``Exclude_Path``, ``DB``, ``storage.path``) is
  re-rooted under the tree: a test cannot write to the real /var/log or /var/fluent-bit;
- ``Kube_Tag_Prefix`` follows the re-rooted path, because tail's ``application.*`` tag is
  built from the file's path;
- ``Kubelet_Port 10250`` becomes the stand-in's port, and ``Kube_CA_File``/
  ``Kube_Token_File`` are added (in a pod they default to the service-account mount);
- the ``aws`` filters get ``imds_endpoint`` and the ``cloudwatch_logs`` outputs ``endpoint``
  (both point at 127.0.0.1 stand-ins; nothing leaves the machine).
The DaemonSet's ``${VAR}``s come from the environment as in a pod; ``READ_FROM_HEAD=On`` and
``READ_FROM_TAIL=Off`` (both values fluent-bit-cluster-info offers) so lines written before the
agent is up are part of what must arrive, and ``HTTP_PORT`` is a free port.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.inputs.tail.tagging import TagComposer
from tests.support.cli import start_logtide
from tests.support.fake_imds import FakeImds, fake_imds
from tests.support.fake_kube_api import TOKEN, TlsFiles, make_tls
from tests.support.fake_kubelet import FakeKubelet, fake_kubelet, free_port
from tests.support.journal import T0, needs_journal_tools, write_journal
from tests.support.moto_server import MotoServer, moto_server

DATA = Path(__file__).resolve().parents[1] / "data" / "container-insights"
REGION = "us-west-2"
CLUSTER = "demo-cluster"
HOST = "ip-10-0-1-23.us-west-2.compute.internal"
MACHINE_ID = "5e0b8f1c2d3a4b5c6d7e8f9012345678"
GROUPS = {
    name: f"/aws/containerinsights/{CLUSTER}/{name}"
    for name in ("application", "dataplane", "host")
}
AWS_FIELDS = {"az": "us-east-1a", "ec2_instance_id": "i-0a1b2c3d4e5f67890"}


@dataclass(frozen=True)
class Container:
    namespace: str
    pod: str
    name: str
    runtime: str  # "docker" (JSON lines) or "cri"
    group: str  # the log group its lines must reach

    @property
    def uid(self) -> str:
        return f"uid-{self.pod}"

    @property
    def container_id(self) -> str:
        return (self.pod.encode().hex() * 8)[:64]


CONTAINERS = (
    Container("default", "orders-7d9c6b9f5b-x2l8q", "orders", "docker", "application"),
    Container("default", "web-5f7c9d8b6-qk2mz", "nginx", "cri", "application"),
    Container(
        "amazon-cloudwatch", "cloudwatch-agent-8xk2p", "cloudwatch-agent", "cri", "application"
    ),
    Container("amazon-cloudwatch", "fluent-bit-z9wqd", "fluent-bit", "cri", "application"),
    Container("kube-system", "aws-node-4rj7t", "aws-node", "cri", "dataplane"),
    Container("kube-system", "kube-proxy-m2n8c", "kube-proxy", "docker", "dataplane"),
)
UNITS = ("kubelet.service", "containerd.service", "docker.service")


def pod_object(container: Container) -> dict[str, Any]:
    image = f"registry.example/{container.name}:1.0"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": container.pod,
            "namespace": container.namespace,
            "uid": container.uid,
            "labels": {"app": container.name},
            "annotations": {"team": "platform"},
        },
        "spec": {"nodeName": HOST, "containers": [{"name": container.name, "image": image}]},
        "status": {
            "containerStatuses": [
                {
                    "name": container.name,
                    "image": image,
                    "imageID": f"{image}@sha256:{'ab' * 32}",
                    "containerID": f"containerd://{container.container_id}",
                }
            ]
        },
    }


@dataclass
class Node:
    """The node tree and what was written into it: line id -> (group, what to check)."""

    root: Path
    containers: tuple[Container, ...] = CONTAINERS
    units: tuple[str, ...] = UNITS  # the units whose entries must arrive
    written: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # The journal helper times the n-th entry T0 + n ms: start at now, since CloudWatch
    # rejects events older than 14 days.
    journal_count: int = field(default_factory=lambda: (time.time_ns() // 1000 - T0) // 1000)

    def container_log(self, container: Container) -> Path:
        folder = f"{container.namespace}_{container.pod}_{container.uid}"
        return self.root / "var/log/pods" / folder / container.name / "0.log"

    def build(self) -> None:
        links = self.root / "var/log/containers"
        links.mkdir(parents=True)
        for container in self.containers:
            log = self.container_log(container)
            log.parent.mkdir(parents=True)
            log.touch()
            name = (
                f"{container.pod}_{container.namespace}_{container.name}-{container.container_id}"
            )
            (links / f"{name}.log").symlink_to(log)
        for name in ("dmesg", "messages", "secure"):
            (self.root / "var/log" / name).touch()
        (self.root / "var/fluent-bit/state").mkdir(parents=True)

    def write_round(self, round_no: int, per_source: int) -> None:
        for container in self.containers:
            with self.container_log(container).open("a") as handle:
                for n in range(per_source):
                    line_id = f"{container.name}-{round_no}-{n}"
                    payload = json.dumps({"id": line_id, "level": "info"})
                    if container.runtime == "docker":
                        entry = {
                            "log": payload + "\n",
                            "stream": "stdout",
                            "time": "2026-12-01T12:00:00.000000000Z",
                        }
                        handle.write(json.dumps(entry) + "\n")
                    else:
                        handle.write(f"2026-12-01T12:00:00.000000000Z stdout F {payload}\n")
                    self.written[line_id] = (container.group, {"container": container})
        self._write_host(round_no, per_source)
        self._write_journal(round_no, per_source)

    def _write_host(self, round_no: int, per_source: int) -> None:
        with (self.root / "var/log/dmesg").open("a") as handle:
            for n in range(per_source):
                line_id = f"dmesg-{round_no}-{n}"
                handle.write(f"[   12.{round_no:02d}{n:04d}] ena 0000:00:05.0 eth0: {line_id}\n")
                self.written[line_id] = ("host", {"file": "dmesg"})
        for name, ident in (("messages", "kubelet"), ("secure", "sshd")):
            with (self.root / "var/log" / name).open("a") as handle:
                for n in range(per_source):
                    line_id = f"{name}-{round_no}-{n}"
                    handle.write(
                        f"Dec  1 12:00:{n % 60:02d} {HOST} {ident}[{1000 + n}]: {line_id}\n"
                    )
                    self.written[line_id] = ("host", {"file": name, "ident": ident})

    def _write_journal(self, round_no: int, per_source: int) -> None:
        entries = []
        for n in range(per_source):
            for unit in (*UNITS, "sshd.service"):
                line_id = f"{unit}-{round_no}-{n}"
                entries.append(
                    {
                        "_SYSTEMD_UNIT": unit,
                        "_HOSTNAME": HOST,
                        "PRIORITY": "6",
                        "MESSAGE": line_id,
                        "_PID": "42",
                    }
                )
                if unit in self.units:  # what the config's Systemd_Filters take
                    self.written[line_id] = ("dataplane", {"unit": unit})
        journal = self.root / "var/log/journal" / MACHINE_ID / "system.journal"
        write_journal(journal, entries, start=self.journal_count)
        self.journal_count += len(entries)


def point_at_node(
    folder: Path, node: Path, kubelet_port: int, tls: TlsFiles, imds: str, cw: str
) -> None:
    """The module docstring's rewrite of the mounted config files, and nothing else."""
    token = node / "serviceaccount-token"
    token.write_text(TOKEN)
    containers = node / "var/log/containers"
    prefix = TagComposer("application.*", None)(f"{containers}/")
    edits = (
        (r"(?m)(?<=\s)/var/", f"{node}/var/"),
        (r"(?m)^(\s*Kube_Tag_Prefix\s+)\S+$", rf"\g<1>{prefix}"),
        (
            r"(?m)^(\s*)Kubelet_Port(\s+)10250$",
            rf"\1Kubelet_Port\g<2>{kubelet_port}\n\1Kube_CA_File {tls.ca_file}\n\1Kube_Token_File {token}",
        ),
        (r"(?m)^(\s*)(imds_version\s+v2)$", rf"\1\2\n\1imds_endpoint {imds}"),
        (r"(?m)^(\s*)(extra_user_agent\s+container-insights)$", rf"\1\2\n\1endpoint {cw}"),
    )
    counts: Counter[str] = Counter()
    for path in folder.glob("*-log.conf"):
        text = path.read_text()
        for pattern, replacement in edits:
            text, n = re.subn(pattern, replacement, text)
            counts[pattern] += n
        path.write_text(text)
    # storage.path lives in fluent-bit.conf: the one path edit outside the included files.
    main = folder / "fluent-bit.conf"
    text, n = re.subn(edits[0][0], edits[0][1], main.read_text())
    main.write_text(text)
    assert n == 1
    assert [counts[p] for p, _ in edits] == [21, 1, 1, 2, 3], counts


def cloudwatch_events(moto: MotoServer, group: str) -> list[dict[str, Any]]:
    logs = moto.client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    events = []
    for stream in streams:
        kwargs: dict[str, Any] = {"startFromHead": True}
        while True:
            page = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], **kwargs
            )
            events += [{**e, "stream": stream["logStreamName"]} for e in page["events"]]
            if not page["events"]:
                break
            kwargs["nextToken"] = page["nextForwardToken"]
    return events


def record_id(record: dict[str, Any]) -> str:
    if "log_processed" in record:
        return str(record["log_processed"]["id"])
    if "log" in record:
        return str(json.loads(record["log"])["id"])
    message = str(record["message"])
    return message.rsplit(" ", 1)[-1]


def delivered(moto: MotoServer) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [json.loads(event["message"]) for event in cloudwatch_events(moto, group)]
        for name, group in GROUPS.items()
    }


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield MotoServer(endpoint=server.endpoint, region=REGION)


def wait_for_all(moto: MotoServer, node: Node, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        total = sum(len(records) for records in delivered(moto).values())
        if total >= len(node.written):
            return
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"{total} of {len(node.written)} lines arrived"
        time.sleep(1)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    return stderr


def check_application(record: dict[str, Any], container: Container) -> None:
    kube = record["kubernetes"]
    assert kube["pod_name"] == container.pod
    assert kube["namespace_name"] == container.namespace
    assert kube["container_name"] == container.name
    assert kube["pod_id"] == container.uid
    assert kube["docker_id"] == container.container_id
    assert kube["host"] == HOST
    assert kube["container_image"] == f"registry.example/{container.name}:1.0"
    assert "labels" not in kube and "annotations" not in kube  # Labels Off, Annotations Off
    assert record["log_processed"]["level"] == "info"  # Merge_Log_Key log_processed
    assert "az" not in record  # the aws filters match dataplane.* and host.* only


def check_record(group: str, record: dict[str, Any], expect: dict[str, Any]) -> None:
    if group == "application":
        check_application(record, expect["container"])
    elif "container" in expect:  # dataplane tail: no kubernetes filter, aws fields
        assert "kubernetes" not in record
        assert {k: record[k] for k in AWS_FIELDS} == AWS_FIELDS
        assert record["stream"] == "stdout"
    elif "unit" in expect:  # dataplane systemd: modify keeps three fields, aws adds two
        assert record == {
            "hostname": HOST,
            "systemd_unit": expect["unit"],
            "message": record["message"],
            **AWS_FIELDS,
        }
    elif expect["file"] == "dmesg":  # Key message
        assert set(record) == {"message", *AWS_FIELDS}
    else:  # the config's own syslog parser
        assert record["host"] == HOST and record["ident"] == expect["ident"]
        assert {k: record[k] for k in AWS_FIELDS} == AWS_FIELDS


def test_container_insights_config_every_line_once_in_its_log_group(
    tmp_path: Path, moto: MotoServer
) -> None:
    needs_journal_tools()
    mounted = tmp_path / "fluent-bit-etc"
    shutil.copytree(DATA, mounted)
    node = Node(tmp_path / "node")
    node.build()
    node.write_round(0, 20)  # before the agent starts: Read_from_Head On finds them
    tls = make_tls(tmp_path)
    env = {
        "AWS_REGION": REGION,
        "CLUSTER_NAME": CLUSTER,
        "HOST_NAME": HOST,
        "HTTP_SERVER": "On",
        "HTTP_PORT": str(free_port()),
        "READ_FROM_HEAD": "On",
        "READ_FROM_TAIL": "Off",
    }
    state = FakeKubelet()
    for container in CONTAINERS:
        state.add_pod(pod_object(container))
    with fake_kubelet(tls, state) as kubelet, fake_imds(FakeImds()) as imds:
        point_at_node(mounted, node.root, int(kubelet.host_port[1]), tls, imds.url, moto.endpoint)
        proc = start_logtide("-c", str(mounted / "fluent-bit.conf"), env=env, cwd=str(tmp_path))
        try:
            wait_for_all(moto, node, proc, timeout=25)
            node.write_round(1, 15)  # while it runs
            wait_for_all(moto, node, proc, timeout=25)
        finally:
            stderr = stop(proc)
        kubelet_paths = kubelet.paths()
    seen = delivered(moto)
    for group, records in seen.items():
        ids = Counter(record_id(record) for record in records)
        assert not [i for i, n in ids.items() if n > 1], f"{group}: delivered twice"
        expected = {i for i, (g, _) in node.written.items() if g == group}
        assert set(ids) == expected, (group, set(ids) ^ expected)
        for record in records:
            check_record(group, record, node.written[record_id(record)][1])
    assert set(kubelet_paths) == {"/pods"}
    assert TOKEN not in stderr
    assert "Traceback" not in stderr
