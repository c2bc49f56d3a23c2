"""The Fluent Bit Helm chart's default config (``tests/data/helm-chart``) run by the real
``logtide`` process over a node-like tree, into its two ``es`` outputs (``Logstash_Format
On``, the default prefix and ``node``, ``Retry_Limit False``) as written but for their
address: the local bulk server (``tests/support/bulk_server.py``); the image's stock
``parsers.conf`` beside it.

What :func:`point_at_node` changes, and why (nothing else):
- ``Host elasticsearch-master`` becomes ``Host 127.0.0.1`` and a ``Port`` (the bulk server);
- ``Path /var/log/containers/*.log`` is re-rooted under the tree (a test cannot write to the
  real /var/log), and ``Kube_Tag_Prefix`` follows it (tail's ``kube.*`` tag is built from the
  path; the chart relies on the default);
- the ``systemd`` input gets ``Path`` (the chart has none: journalctl then reads the machine's
  own journal, which a test cannot write);
- the ``kubernetes`` filter gets ``Kube_Meta_Preload_Cache_Dir`` (pod metadata from files: no
  API server here);
- ``HTTP_Port 2020`` becomes a free port (tests run side by side).

The chart reads containers from their end (no ``Read_from_Head``) and the journal from its
tail (``Read_From_Tail On``), without DBs: markers are written until one arrives, and only
what is written after that must arrive, each line once. A pod annotated
``fluentbit.io/exclude: "true"`` (``K8S-Logging.Exclude On``) must deliver nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from logtide.agent.inputs.tail.tagging import TagComposer
from tests.e2e.test_container_insights import HOST, Container, Node, pod_object, stop
from tests.e2e.test_eks_configs import stock_parsers_file
from tests.support.bulk_server import BulkServer
from tests.support.cli import start_logtide
from tests.support.fake_kubelet import free_port
from tests.support.journal import needs_journal_tools

DATA = Path(__file__).resolve().parents[1] / "data" / "helm-chart"
PODS = (
    Container("default", "orders-7d9c6b9f5b-x2l8q", "orders", "docker", "kube"),
    Container("default", "web-5f7c9d8b6-qk2mz", "nginx", "cri", "kube"),
    Container("default", "noisy-6c8d7f9b5-p4r2s", "noisy", "cri", "excluded"),
)


def point_at_node(folder: Path, node: Path, meta: Path, bulk_port: int) -> None:
    """The module docstring's rewrite."""
    conf = folder / "fluent-bit.conf"
    prefix = TagComposer("kube.*", None)(f"{node}/var/log/containers/")
    edits = (
        (r"(?m)^(\s*)Host elasticsearch-master$", rf"\1Host 127.0.0.1\n\1Port {bulk_port}"),
        (r"(?m)^(\s*Path\s+)/var/log/containers/", rf"\g<1>{node}/var/log/containers/"),
        (
            r"(?m)^(\s*)(Name kubernetes)$",
            rf"\1\2\n\1Kube_Tag_Prefix {prefix}\n\1Kube_Meta_Preload_Cache_Dir {meta}",
        ),
        (r"(?m)^(\s*)(Name systemd)$", rf"\1\2\n\1Path {node}/var/log/journal"),
        (r"(?m)^(\s*HTTP_Port\s+)2020$", rf"\g<1>{free_port()}"),
    )
    text = conf.read_text()
    for pattern, replacement in edits:
        text, n = re.subn(pattern, replacement, text)
        assert n == (2 if "Host" in replacement else 1), pattern
    conf.write_text(text)


def read(server: BulkServer, prefix: str) -> list[dict[str, Any]]:
    """The documents of the indices named ``<prefix>-<date>``."""
    with server.lock:
        names = [
            name for name in server.docs if re.fullmatch(rf"{prefix}-\d{{4}}\.\d\d\.\d\d", name)
        ]
    return [doc for name in names for doc in server.documents(name)]


def ids(server: BulkServer) -> Counter[str]:
    found: Counter[str] = Counter()
    for record in read(server, "logstash"):
        found[str(record["id"])] += 1
    for record in read(server, "node"):
        found[str(record["MESSAGE"])] += 1
    return found


def test_helm_chart_config_every_line_once_in_its_index(tmp_path: Path) -> None:
    needs_journal_tools()
    mounted, meta = tmp_path / "etc", tmp_path / "meta"
    shutil.copytree(DATA, mounted)
    stock_parsers_file(mounted)
    meta.mkdir()
    for container in PODS:
        pod = pod_object(container)
        if container.group == "excluded":
            pod["metadata"]["annotations"]["fluentbit.io/exclude"] = "true"
        (meta / f"{container.namespace}_{container.pod}.meta").write_text(json.dumps(pod))
    node = Node(tmp_path / "node", containers=PODS, units=("kubelet.service",))
    node.build()
    node.write_round(0, 1)  # before the start: the chart reads neither of them
    server = BulkServer().start()
    point_at_node(mounted, node.root, meta, server.port)
    proc = start_logtide("-c", str(mounted / "fluent-bit.conf"), cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 30
        round_no = 1
        # Until a marker of every source has arrived, the agent may not be watching it yet.
        while not all(
            any(i.startswith(p) for i in ids(server)) for p in ("orders", "nginx", "kubelet")
        ):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, ids(server)
            node.write_round(round_no, 1)
            round_no += 1
            time.sleep(1)
        first_counted = round_no + 1
        node.write_round(round_no, 1)  # a round that may straddle the marker's arrival
        for n in range(first_counted, first_counted + 3):
            node.write_round(n, 10)
            time.sleep(0.3)
        expected = {
            line_id
            for line_id, (group, _) in node.written.items()
            if group in ("kube", "dataplane") and int(line_id.rsplit("-", 2)[1]) >= first_counted
        }
        while not expected <= set(ids(server)):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline + 30, expected - set(ids(server))
            time.sleep(0.5)
    finally:
        stderr = stop(proc)
        server.stop()
    found = ids(server)
    assert not [i for i, n in found.items() if n > 1], "delivered twice"
    assert not [i for i in found if i.startswith("noisy")], "an excluded pod's line arrived"
    assert not [i for i in found if i.startswith(("sshd", "containerd"))], "unfiltered unit"
    for record in read(server, "logstash"):
        container = next(c for c in PODS if record["id"].startswith(c.name))
        assert "log" not in record  # Merge_Log On, Keep_Log Off
        assert record["kubernetes"]["pod_name"] == container.pod
        assert record["kubernetes"]["labels"] == {"app": container.name}
        assert record["kubernetes"]["annotations"] == {"team": "platform"}
        assert record["@timestamp"].endswith("Z")
    for record in read(server, "node"):
        assert record["_SYSTEMD_UNIT"] == "kubelet.service" and record["_HOSTNAME"] == HOST
    assert "Traceback" not in stderr
