"""Scenario ``eks`` of bench/run.py: the shape of an EKS node's application-log pipeline.

50 pods' files under ``logs/containers`` named as kubelet names them
(``<pod>_<namespace>_<container>-<id>.log``), half in docker json-file format and half in
containerd/CRI format, read by one tail with ``multiline.parser docker, cri``; the kubernetes
filter (Merge_Log On, Keep_Log Off, as Container Insights runs it) takes every pod's metadata
from ``Kube_Meta_Preload_Cache_Dir`` (one ``<namespace>_<pod>.meta`` per pod, no API server);
a modify filter adds and renames a field; the null output drops the records.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import orjson
from measure import Result, run_best
from workload import write_logs

PODS = 50
NAMESPACE = "shop"

PARSERS = """\
[PARSER]
    Name   docker
    Format json
"""

CONFIG = """\
[SERVICE]
    Flush         1
    Log_Level     warn
    Parsers_File  parsers.conf
[INPUT]
    Name              tail
    Tag               kube.*
    Path              {containers}/*.log
    multiline.parser  docker, cri
    DB                {state}/flb_container.db
    Mem_Buf_Limit     256MB
    Skip_Long_Lines   On
    Refresh_Interval  10
    Read_from_Head    On
[FILTER]
    Name                kubernetes
    Match               kube.*
    Kube_URL            https://127.0.0.1:{no_api_port}
    Kube_Tag_Prefix     {prefix}
    Kube_Meta_Preload_Cache_Dir {meta}
    Merge_Log           On
    Keep_Log            Off
    K8S-Logging.Parser  On
    K8S-Logging.Exclude Off
    Labels              Off
    Annotations         Off
    Buffer_Size         0
[FILTER]
    Name    modify
    Match   kube.*
    Add     cluster_name bench-cluster
    Rename  stream log_stream
[OUTPUT]
    Name   null
    Match  *
"""


def _pod(n: int) -> tuple[str, str]:
    """(pod name, 64-hex container id) of pod ``n``."""
    return f"orders-{n:02d}-7d9c6b9f5b-x{n:03d}", f"{n:02x}" * 32


def _pod_object(name: str, container_id: str, runtime: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": f"uid-{name}",
            "labels": {"app": name.rsplit("-", 2)[0], "pod-template-hash": "7d9c6b9f5b"},
            "annotations": {"prometheus.io/scrape": "false"},
        },
        "spec": {"nodeName": "ip-10-0-1-23.ec2.internal"},
        "status": {
            "podIP": "10.0.1.99",
            "containerStatuses": [
                {
                    "name": "app",
                    "containerID": f"{runtime}://{container_id}",
                    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1.4",
                    "imageID": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:"
                    + "ab" * 32,
                }
            ],
        },
    }


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_tree(root: Path, lines: int) -> Path:
    """The node's files, the metadata folder and the config under ``root``; the config."""
    from logtide.agent.inputs.tail.tagging import TagComposer

    containers, meta = root / "logs" / "containers", root / "meta"
    for folder in (containers, meta, root / "state", root / "out"):
        folder.mkdir(parents=True, exist_ok=True)
    for n in range(PODS):
        name, cid = _pod(n)
        fmt = "docker" if n % 2 == 0 else "cri"
        share = lines // PODS + (1 if n < lines % PODS else 0)
        write_logs(containers / f"{name}_{NAMESPACE}_app-{cid}.log", share, fmt, seed=n)
        runtime = "docker" if fmt == "docker" else "containerd"
        body = _pod_object(name, cid, runtime)
        (meta / f"{NAMESPACE}_{name}.meta").write_bytes(orjson.dumps(body))
    prefix = TagComposer("kube.*", None)(str(containers) + "/")
    (root / "parsers.conf").write_text(PARSERS)
    conf = root / "fluent-bit.conf"
    conf.write_text(
        CONFIG.format(
            containers=containers,
            state=root / "state",
            meta=meta,
            prefix=prefix,
            no_api_port=_unused_port(),
        )
    )
    return conf


def scenario_eks(lines: int, repeat: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-eks-") as tmp:
        conf = write_tree(Path(tmp), lines)
        result = run_best(conf, lines, "eks", repeat)
        result.note = f"{PODS} pods (docker + CRI), metadata from Kube_Meta_Preload_Cache_Dir"
        return result
