"""Memory during an outage: the process stays within the DaemonSet's memory limit however
long the outage and however long the lines, and nothing is lost.

The article's pipeline with the shipped ConfigMap's Mem_Buf_Limit, the destination refusing
connections (nothing listens on its port) while the app keeps writing. What bounds memory:
the tail's Mem_Buf_Limit and each output's queue count bytes, and every failed attempt's
request (its body held in reference cycles by the HTTP stack) is freed at once rather than
when the rarely-run cyclic collector gets to it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from tests.faults import report
from tests.faults.agent import Agent, Overrides, wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import FaultProxy
from tests.support.logapp import AppWriter

K8S = Path(__file__).resolve().parents[2] / "k8s"
DAEMONSET = K8S / "daemonset.yaml"
MIB = 2**20
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def container_memory_limit() -> int:
    """The logtide container's memory limit in k8s/daemonset.yaml, in bytes."""
    for doc in yaml.safe_load_all(DAEMONSET.read_text()):
        if doc and doc.get("kind") == "DaemonSet":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            text = str(container["resources"]["limits"]["memory"])
            match = re.fullmatch(r"(\d+)([KMG]i?)?", text)
            assert match, text
            return int(match.group(1)) * _UNITS.get(match.group(2) or "", 1)
    raise AssertionError("no DaemonSet in k8s/daemonset.yaml")


def shipped_mem_buf_limit() -> str:
    """The tail's Mem_Buf_Limit in the shipped k8s/configmap.yaml (the article's is 256MB)."""
    for doc in yaml.safe_load_all((K8S / "configmap.yaml").read_text()):
        if doc and doc.get("kind") == "ConfigMap":
            conf = doc["data"]["fluent-bit.conf"]
            match = re.search(r"^\s*Mem_Buf_Limit\s+(\S+)$", conf, re.MULTILINE | re.IGNORECASE)
            assert match, "the shipped config sets no Mem_Buf_Limit"
            return match.group(1)
    raise AssertionError("no ConfigMap in k8s/configmap.yaml")


def high_water_mark(agent: Agent) -> int:
    """The process's peak RSS so far (``VmHWM``), catch-up after the outage included."""
    with open(f"/proc/{agent.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def sample(agent: Agent, seconds: float, interval: float = 0.5) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        agent.rss()
        time.sleep(interval)


def run_refused(
    world: World,
    writer: AppWriter,
    *,
    seconds: float,
    case: str,
    cloudwatch_only: bool,
    deliver_timeout: float,
) -> dict[str, float]:
    """Refuse connections for ``seconds`` (every AWS endpoint, or CloudWatch's alone),
    then let them through; return the figures after every line was delivered."""
    with FaultProxy(world.moto.endpoint) as down:
        extra: Overrides = {
            "tail": {"Mem_Buf_Limit": shipped_mem_buf_limit()},
            "cloudwatch_logs": {"endpoint": down.endpoint},
        }
        if not cloudwatch_only:
            extra["s3"] = {"endpoint": down.endpoint}
        agent = world.agent(extra)
        agent.wait_files(1)
        baseline = agent.rss()
        down.offline()
        writer.start()
        began = time.monotonic()
        sample(agent, seconds)
        down.online()
        outage_end = time.monotonic()
        sample(agent, 5)
        writer.stop()
        # Reading every event back from moto is slow with many: wait on the agent's count
        # of what CloudWatch accepted first, then check line by line once.
        cw_bound = len(writer.written.other)
        wait_for(
            lambda: agent.counter("output", "cloudwatch_logs.0", "proc_records") >= cw_bound,
            deliver_timeout,
            interval=1.0,
            what=f"{cw_bound} records accepted by CloudWatch",
        )
        s3, cw = world.wait_delivered([writer], timeout=deliver_timeout)
        recovered = time.monotonic() - outage_end
        peak = max(high_water_mark(agent), *agent.rss_samples)
        code, _ = agent.terminate()
    figures = {
        "outage_seconds": round(outage_end - began),
        "lines_written": writer.written.total,
        "s3_lost": len(s3.lost),
        "s3_duplicated": s3.duplicates,
        "cw_lost": len(cw.lost),
        "cw_duplicated": cw.duplicates,
        "rss_baseline_mb": round(baseline / MIB, 1),
        "rss_peak_mb": round(peak / MIB, 1),
        "delivered_all_within_s": round(recovered),
    }
    report.record(case, **figures)
    assert code == 0, agent.log_tail()
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0, s3.summary()
    assert "Could not connect" in agent.log_text(), "the outage was not seen"
    return {"baseline": baseline, "peak": peak}


def test_refused_endpoint_with_long_lines_keeps_memory_bounded(world: World) -> None:
    # 8 KB records at 250 lines/s for 25 s: every retry used to leave its request behind
    # until the collector ran, and the queues held 16k records whatever their size
    # (RSS grew by hundreds of MB).
    writer = world.writer("app-0.log", rate=250, seed=21, pad=8000)
    rss = run_refused(
        world,
        writer,
        seconds=25,
        case="outage_memory_short",
        cloudwatch_only=True,
        deliver_timeout=180,
    )
    assert rss["peak"] - rss["baseline"] < 60 * MIB, rss


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_ten_minute_cloudwatch_outage_at_100k_lines_per_minute(world: World) -> None:
    limit = container_memory_limit()
    writer = world.writer("app-0.log", rate=100_000 / 60, seed=22)
    rss = run_refused(
        world,
        writer,
        seconds=600,
        case="outage_memory_10min",
        cloudwatch_only=True,
        deliver_timeout=1200,
    )
    assert rss["peak"] < limit, (rss, limit)
