"""Scenario ``vs-fb`` of bench/run.py: logtide and a Fluent Bit binary on the same trees, in
the same session, their runs alternating (``--fluent-bit PATH``).

This VM's speed moves by up to half from one hour to the next, so a Fluent Bit figure from
another session (or another host) says little about a ratio; here every pipeline runs
logtide, then Fluent Bit, ``--repeat`` times over, on one tree with one config file. Each
row is an agent's run with the least CPU, with every run's CPU in the note.

Scenario ``d`` (1,000 files, long-running: CPU while quiet, then while each file gets a
line a second) runs once per agent, logtide first. The other pipelines (``--vs-fb`` picks
some): ``a`` and ``a-cri`` (the article's, into two files); ``eks`` into ``null`` and into
``file`` (the pipeline issue 22 quotes Fluent Bit's figure for); ``eks-cw-tls`` into
cloudwatch_logs on moto served over HTTPS (Fluent Bit's cloudwatch_logs speaks nothing
else), both agents reading the same config (a bare host, ``port``, ``tls.verify Off``) and
paying for the same TLS; ``c``, ``ml``, ``lua-0``, ``lua-1`` and ``rewrite_tag`` as
bench/run.py runs them (tail into ``null`` through that filter, or none for ``c``).

Fluent Bit has no ``--once``: it is measured when its outputs' ``proc_records`` (its
HTTP server's ``/api/v1/metrics``, polled every 0.25 s) reach the records written; its CPU
then is user + system from ``/proc/<pid>/stat``, its peak RSS its ``VmHWM``. It is stopped
with SIGTERM after that. logtide runs ``--once`` and is measured as everywhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from eks import CHECK_OUTPUT, LOG_GROUP, NODE, lacking_metadata, metadata_verdict, write_tree
from many_files import many_files
from measure import Result, count_lines, cpu_seconds, fresh_state, peak_rss_mib, run_once
from workload import LUA_FILTER, REWRITE_TAG, write_config, write_logs

from logtide.agent.companions.local_aws import FAKE_CREDENTIALS, REGION, free_port

POLL_SECONDS = 0.25
# No record processed or dropped for this long: the run is over, whatever is left.
STALL_SECONDS = 120.0

# eks-cw as Container Insights' DaemonSet writes it, pointed at a local HTTPS endpoint.
CLOUDWATCH_TLS_OUTPUT = """\
[OUTPUT]
    Name                cloudwatch_logs
    Match               kube.*
    region              {region}
    endpoint            127.0.0.1
    port                {port}
    tls.verify          Off
    log_group_name      {group}
    log_stream_prefix   {node}-
    auto_create_group   On
    extra_user_agent    container-insights
"""


def with_http_server(conf: Path, port: int) -> Path:
    """A copy of ``conf`` that serves Fluent Bit's metrics on ``port`` (logtide's runs use
    ``conf`` itself)."""
    text = conf.read_text()
    server = f"[SERVICE]\n    HTTP_Server On\n    HTTP_Listen 127.0.0.1\n    HTTP_Port {port}\n"
    copy = conf.with_name("fluent-bit.metrics.conf")
    copy.write_text(text.replace("[SERVICE]\n", server, 1))
    return copy


def _outcome(port: int) -> tuple[int, int]:
    """(records the outputs processed, records they dropped) from Fluent Bit's metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=5) as answer:
        outputs = json.load(answer)["output"].values()
    return (
        sum(int(figures["proc_records"]) for figures in outputs),
        sum(int(figures["dropped_records"]) for figures in outputs),
    )


def run_fluent_bit(binary: str, conf: Path, records: int, scenario: str) -> Result:
    """``binary -c conf`` (with its HTTP server on, from the state the caller left) until
    its outputs processed or dropped
    ``records``, or made no progress for :data:`STALL_SECONDS`. A run that lost records is
    returned with them counted in its note (Fluent Bit gives a chunk up after
    ``Retry_Limit``, 1 by default); it is not an error of the benchmark."""
    port = free_port()
    served = with_http_server(conf, port)
    log = conf.with_name("fluent-bit.log")
    started = time.perf_counter()
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [binary, "-c", str(served)], cwd=conf.parent, stdout=sink, stderr=sink
        )
    peak = 0.0
    polled = progressed = started
    done = dropped = 0
    try:
        while done + dropped < records:
            time.sleep(0.02)
            if child.poll() is not None:
                raise SystemExit(f"{scenario}: Fluent Bit exited {child.returncode}; see {log}")
            peak = max(peak, peak_rss_mib(child.pid))
            now = time.perf_counter()
            if now - progressed > STALL_SECONDS:
                break
            if now - polled >= POLL_SECONDS:
                polled = now
                with contextlib.suppress(OSError, KeyError, ValueError):
                    outcome = _outcome(port)
                    if outcome != (done, dropped):
                        done, dropped, progressed = *outcome, now
        cpu = cpu_seconds(child.pid)
        wall = time.perf_counter() - started
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    result = Result(
        scenario,
        records,
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        peak_rss_mib=round(peak, 1),
        records_per_s=round(done / wall),
        records_per_cpu_s=round(done / cpu),
        delivered=done,
    )
    if done < records:
        result.note = f"LOST {records - done:,} records ({dropped:,} dropped by its outputs)"
    return result


def _alternate(
    binary: str,
    conf: Path,
    records: int,
    label: str,
    repeat: int,
    check: Callable[[], str],
    clean: Callable[[], None] = lambda: None,
) -> list[Result]:
    """logtide, then Fluent Bit, ``repeat`` times, each from an empty ``state`` and ``out``
    (and whatever ``clean`` empties); per agent the run with the least CPU of those that
    delivered every record, its last run's output checked by ``check`` (a note)."""
    runs: dict[str, list[Result]] = {"logtide": [], "fluent-bit": []}
    checked: dict[str, str] = {}
    rounds = max(1, repeat)
    for round_ in range(1, rounds + 1):
        for agent in runs:
            clean()
            fresh_state(conf.parent)
            if agent == "logtide":
                result = run_once(conf, records, f"{label}/logtide")
                result.delivered = records  # --once exited 0: every record delivered
            else:
                result = run_fluent_bit(binary, conf, records, f"{label}/fluent-bit")
            runs[agent].append(result)
            if round_ == rounds:
                checked[agent] = check()
    best: dict[str, Result] = {}
    for agent, results in runs.items():
        complete = [r for r in results if r.delivered == records] or results
        best[agent] = result = min(complete, key=lambda r: r.cpu_s)
        cpus = " / ".join(f"{r.cpu_s:.2f}" for r in results)
        losses = [r.note for r in results if r.note]
        result.note = "; ".join([f"CPU-s of the runs {cpus}", *losses, checked[agent]])
        result.extra = {f"run{n}_cpu_s": r.cpu_s for n, r in enumerate(results, 1)}
        result.extra.update(
            {f"run{n}_peak_rss_mib": r.peak_rss_mib for n, r in enumerate(results, 1)}
        )
    ratio = best["logtide"].records_per_cpu_s / best["fluent-bit"].records_per_cpu_s
    best["logtide"].note += f"; {ratio:.2f}x Fluent Bit's records per CPU-second"
    return [best["logtide"], best["fluent-bit"]]


def _counted(files: list[Path], records: int) -> Callable[[], str]:
    def check() -> str:
        lines = sum(map(count_lines, files))
        return "every record written" if lines == records else f"CHECK FAILED: {lines:,} lines"

    return check


def _article(binary: str, lines: int, repeat: int, fmt: str) -> list[Result]:
    label = "a" if fmt == "docker" else "a-cri"
    with tempfile.TemporaryDirectory(prefix=f"bench-vs-fb-{label}-") as tmp:
        root = Path(tmp)
        conf = write_config(root, "file", fmt)
        write_logs(root / "logs" / "app.log", lines, fmt)
        outputs = [root / "out" / "ca.log", root / "out" / "notca.log"]
        return _alternate(binary, conf, lines, label, repeat, _counted(outputs, lines))


def _eks(binary: str, lines: int, repeat: int, into_file: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-vs-fb-eks-") as tmp:
        root = Path(tmp)
        records = root / "out" / "records"
        if into_file:
            conf = write_tree(root, lines, CHECK_OUTPUT.format(out=root / "out"))
            check = _metadata_in_file(records, lines)
        else:
            conf = write_tree(root, lines)
            check = lambda: "into null"  # noqa: E731
        label = "eks-file" if into_file else "eks"
        return _alternate(binary, conf, lines, label, repeat, check)


def _metadata_in_file(path: Path, lines: int) -> Callable[[], str]:
    from eks import _file_records

    def check() -> str:
        return metadata_verdict(lines, *lacking_metadata(_file_records(path)), "written")

    return check


def _eks_cloudwatch(binary: str, lines: int, repeat: int) -> list[Result]:
    from eks import _cloudwatch_records

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.fake_kube_api import make_tls

    with tempfile.TemporaryDirectory(prefix="bench-vs-fb-eks-cw-") as tmp:
        root = Path(tmp)
        tls = make_tls(root, ("127.0.0.1",))
        with _moto_process((str(tls.cert_file), str(tls.key_file))) as (endpoint, region):
            port = int(endpoint.rsplit(":", 1)[1])
            output = CLOUDWATCH_TLS_OUTPUT.format(
                region=region, port=port, group=LOG_GROUP, node=NODE
            )
            conf = write_tree(root / "tree", lines, output)
            logs = _client(endpoint, region, str(tls.ca_file))

            def clean() -> None:
                # An empty moto for each run (as eks.py's eks-cw: deleting the log group
                # alone left its events in moto's process, which took more CPU every run).
                reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
                tls_context = ssl.create_default_context(cafile=str(tls.ca_file))
                urllib.request.urlopen(reset, timeout=30, context=tls_context).close()

            def check() -> str:
                found = lacking_metadata(_cloudwatch_records(logs))
                return metadata_verdict(lines, *found, "in CloudWatch")

            return _alternate(binary, conf, lines, "eks-cw-tls", repeat, check, clean)


@contextlib.contextmanager
def _moto_process(certificate: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """moto over HTTPS in a process of its own (in this one, its TLS handshakes and
    requests would share one GIL with the samplers, and Fluent Bit's many connections time
    out): (endpoint, region)."""
    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    port = free_port()
    moto = str(Path(sys.executable).with_name("moto_server"))
    cert, key = certificate
    server = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port), "-c", cert, "-k", key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("vs-fb: moto_server did not start")
            time.sleep(0.1)
        yield f"https://127.0.0.1:{port}", REGION
    finally:
        server.terminate()
        server.wait(30)


def _client(endpoint: str, region: str, ca_file: str) -> Any:
    import boto3

    return boto3.client("logs", region_name=region, endpoint_url=endpoint, verify=ca_file)


def _tail_null(binary: str, lines: int, repeat: int, label: str) -> list[Result]:
    """tail (docker parser) -> ``label``'s filter -> null, as bench/run.py's c, ml, lua-0,
    lua-1 and rewrite_tag."""
    filters = {
        "c": "",
        "ml": "",
        "lua-0": LUA_FILTER.format(code=0),
        "lua-1": LUA_FILTER.format(code=1),
        "rewrite_tag": REWRITE_TAG,
    }[label]
    with tempfile.TemporaryDirectory(prefix=f"bench-vs-fb-{label}-") as tmp:
        root = Path(tmp)
        conf = write_config(root, "multiline-null" if label == "ml" else "null", "docker")
        conf.write_text(conf.read_text().replace("[OUTPUT]", filters + "[OUTPUT]", 1))
        write_logs(root / "logs" / "app.log", lines, "docker")
        return _alternate(binary, conf, lines, label, repeat, lambda: "into null")


PIPELINES = ("d", "a", "a-cri", "eks", "eks-file", "eks-cw-tls", "c", "ml", "lua-0", "lua-1",
             "rewrite_tag")  # fmt: skip


def scenario_versus_fluent_bit(
    binary: str | None,
    lines: int,
    repeat: int,
    files: int,
    seconds: float,
    pipelines: tuple[str, ...] = PIPELINES,
) -> list[Result]:
    if not binary or not os.access(binary, os.X_OK):
        raise SystemExit("scenario vs-fb needs --fluent-bit PATH (an executable Fluent Bit)")
    unknown = set(pipelines) - set(PIPELINES)
    if unknown:
        raise SystemExit(f"vs-fb: unknown pipeline(s) {', '.join(sorted(unknown))}")
    runs: dict[str, Callable[[], list[Result]]] = {
        "d": lambda: [*many_files(files, seconds), *many_files(files, seconds, binary)],
        "a": lambda: _article(binary, lines, repeat, "docker"),
        "a-cri": lambda: _article(binary, lines, repeat, "cri"),
        "eks": lambda: _eks(binary, lines, repeat, into_file=False),
        "eks-file": lambda: _eks(binary, lines, repeat, into_file=True),
        "eks-cw-tls": lambda: _eks_cloudwatch(binary, lines, repeat),
    }
    results: list[Result] = []
    for name in pipelines:
        results.extend(runs[name]() if name in runs else _tail_null(binary, lines, repeat, name))
    return results


def fluent_bit_version(binary: str) -> str:
    answer = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return answer.stdout.splitlines()[0] if answer.stdout else "unknown"
