"""Scenario ``eks`` of bench/run.py: the shape of an EKS node's application-log pipeline.

50 pods' files under ``logs/containers`` named as kubelet names them
(``<pod>_<namespace>_<container>-<id>.log``), half in docker json-file format and half in
containerd/CRI format, read by one tail with ``multiline.parser docker, cri``; the kubernetes
filter (Merge_Log On, Keep_Log Off, as Container Insights runs it) takes every pod's metadata
from ``Kube_Meta_Preload_Cache_Dir`` (one ``<namespace>_<pod>.meta`` per pod, no API server);
a modify filter adds and renames a field; the null output drops the records.

``eks-cw`` sends the same records to ``cloudwatch_logs`` on the in-process moto server
(best of ``--repeat`` runs like ``eks``, the log group emptied before each),
named as the Container Insights DaemonSet names them (log group
``/aws/containerinsights/<cluster>/application``, one stream per file: ``<node>-<tag>``).
Both variants check that every record carries its own pod's metadata (name, namespace,
container and the preloaded pod uid): ``eks`` in an unmeasured run into a ``file`` output
after the measured ones, ``eks-cw`` by reading every event back from moto.
"""

from __future__ import annotations

import gc
import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
from measure import Result, run_best, run_once
from workload import write_logs

from logtide.agent.companions.local_aws import free_port

PODS = 50
NAMESPACE = "shop"
CLUSTER = "bench-cluster"
NODE = "ip-10-0-1-23.ec2.internal"
LOG_GROUP = f"/aws/containerinsights/{CLUSTER}/application"
# The pod a tag (its file name) belongs to.
_POD_IN_TAG = re.compile(rf"(orders-\d{{2}}-7d9c6b9f5b-x\d{{3}})_{NAMESPACE}_app-")

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
"""

NULL_OUTPUT = """\
[OUTPUT]
    Name   null
    Match  *
"""

# The unmeasured check run of ``eks``: every record with its tag (out_file: ``tag: [t, {}]``).
CHECK_OUTPUT = """\
[OUTPUT]
    Name   file
    Match  *
    Path   {out}
    File   records
"""

# As the Container Insights fluent-bit.conf's application-log output.
CLOUDWATCH_OUTPUT = """\
[OUTPUT]
    Name                cloudwatch_logs
    Match               kube.*
    region              {region}
    endpoint            {endpoint}
    log_group_name      {group}
    log_stream_prefix   {node}-
    auto_create_group   On
    extra_user_agent    container-insights
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
        "spec": {"nodeName": NODE},
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


def write_tree(root: Path, lines: int, output: str = NULL_OUTPUT) -> Path:
    """The node's files, the metadata folder and the config (the pipeline into ``output``)
    under ``root``; the config."""
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
    pipeline = CONFIG.format(
        containers=containers,
        state=root / "state",
        meta=meta,
        prefix=prefix,
        no_api_port=free_port(),
    )
    conf.write_text(pipeline + output)
    return conf


def lacking_metadata(tagged: Iterator[tuple[str, dict[str, object]]]) -> tuple[int, int]:
    """(records, records without their own pod's metadata) of ``(tag, record)`` pairs: the
    pod named by the tag's file, its namespace and container, and the uid only the
    preloaded pod object has."""
    records = lacking = 0
    for tag, record in tagged:
        records += 1
        match = _POD_IN_TAG.search(tag)
        kube = record.get("kubernetes")
        if (
            match is None
            or not isinstance(kube, dict)
            or kube.get("pod_name") != match.group(1)
            or kube.get("namespace_name") != NAMESPACE
            or kube.get("container_name") != "app"
            or kube.get("pod_id") != f"uid-{match.group(1)}"
        ):
            lacking += 1
    return records, lacking


def _file_records(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    with path.open("rb") as lines:
        for line in lines:
            tag, _, event = line.partition(b": ")
            yield tag.decode(), orjson.loads(event)[1]


def _cloudwatch_records(client: object) -> Iterator[tuple[str, dict[str, object]]]:
    """Every event of the log group, read back from moto, with the tag its stream names."""
    streams = client.get_paginator("describe_log_streams").paginate(logGroupName=LOG_GROUP)  # type: ignore[attr-defined]
    for page in streams:
        for stream in page["logStreams"]:
            name = stream["logStreamName"]
            token = None
            while True:
                kwargs = {"logGroupName": LOG_GROUP, "logStreamName": name, "startFromHead": True}
                if token:
                    kwargs["nextToken"] = token
                events = client.get_log_events(**kwargs)  # type: ignore[attr-defined]
                for event in events["events"]:
                    yield name, orjson.loads(event["message"])
                if not events["events"] or events["nextForwardToken"] == token:
                    break
                token = events["nextForwardToken"]


def metadata_verdict(lines: int, records: int, lacking: int, where: str) -> str:
    """What :func:`lacking_metadata` found, as a note: all well, or ``CHECK FAILED``."""
    if records == lines and not lacking:
        return "every record has its pod's metadata"
    return (
        f"CHECK FAILED: {records:,} of {lines:,} records {where}, "
        f"{lacking:,} without their pod's metadata"
    )


def _checked(result: Result, lines: int, records: int, lacking: int, where: str) -> Result:
    result.delivered = records - lacking
    verdict = metadata_verdict(lines, records, lacking, where)
    result.note = f"{PODS} pods (docker + CRI), preload cache; {verdict}"
    return result


def scenario_eks(lines: int, repeat: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-eks-") as tmp:
        conf = write_tree(Path(tmp), lines)
        result = run_best(conf, lines, "eks", repeat)
        # The same input again into a file: what the null output dropped, checked; and one
        # run of the very pipeline Fluent Bit's figure in the issue measures (-> file).
        checked = write_tree(
            Path(tmp) / "check", lines, CHECK_OUTPUT.format(out=Path(tmp) / "check" / "out")
        )
        into_file = run_once(checked, lines, "eks-check")
        records, lacking = lacking_metadata(_file_records(checked.parent / "out" / "records"))
        _checked(result, lines, records, lacking, "written")
        result.extra["file_records_per_cpu_s"] = into_file.records_per_cpu_s
        result.extra["file_peak_rss_mib"] = into_file.peak_rss_mib
        result.note += (
            f"; -> file (1 run): {into_file.records_per_cpu_s:,.0f} records/CPU-s, "
            f"{into_file.peak_rss_mib:.1f} MiB"
        )
        return result


def scenario_eks_cw(lines: int, repeat: int) -> Result:
    from logtide.agent.testing import moto_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    with moto_server() as moto, tempfile.TemporaryDirectory(prefix="bench-eks-cw-") as tmp:
        output = CLOUDWATCH_OUTPUT.format(
            region=moto.region, endpoint=moto.endpoint, group=LOG_GROUP, node=NODE
        )
        conf = write_tree(Path(tmp), lines, output)
        logs = moto.client("logs")

        def empty_moto() -> None:
            # Each run starts from an empty moto, as the first did; the check reads the last.
            # With the log group only deleted, this process grew by ~1.1 GB a 1M-line run and
            # moto, on the agent's 2 cores, took more CPU with every run.
            moto.reset()
            gc.collect()

        result = run_best(conf, lines, "eks-cw", repeat, clean=empty_moto)
        records, lacking = lacking_metadata(_cloudwatch_records(logs))
        _checked(result, lines, records, lacking, "in CloudWatch (last run)")
        result.note += "; moto shares the 2 cores"
        return result
