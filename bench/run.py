"""The benchmark behind ``make bench``: the article's pipeline through the real ``logtide``.

Scenarios (each runs ``logtide -c fluent-bit.conf`` as a child process):

  a   the article's pipeline (tail -> docker parser -> parser filter -> two stream tasks) into
      two ``file`` outputs (CA / not CA), on docker json-file logs; ``a-cri`` the same on
      containerd/CRI logs with ``multiline.parser cri``
  b   the same into S3 + CloudWatch Logs on a local moto server
  c   tail (docker parser) -> null
  t   tail (docker parser) + parser filter -> null (issue 3's benchmark)
  aws tail (docker parser) + aws filter (every field, two instance tags, from an IMDS
      stand-in on 127.0.0.1) -> null: the filter's cost on the hot path, next to c
  ml  tail (docker parser) + multiline filter (java, buffer On) -> null on the same
      single-line logs as c: the filter's cost when there is nothing to join, next to c
  ref the issue's reference: a tight orjson loop doing the core work of a, no agent
  d   1,000 files tailed in long-running mode: CPU% of the agent while they are quiet, then
      while each gets one line a second
  eks an EKS node's application logs: 50 pods' files (docker + CRI, ``multiline.parser
      docker, cri``) -> kubernetes filter (metadata from Kube_Meta_Preload_Cache_Dir) ->
      modify -> null (bench/eks.py); every record checked for its pod's metadata in an
      unmeasured run into a file output
  eks-cw  the same into cloudwatch_logs on moto (in the benchmark's process), named as
      Container Insights names it; every event read back and checked (one run)
  python  tail (docker parser) -> python filter with a trivial callable -> null, per record
      and ``Batch On`` (bench/python_filter.py); compare with c
  lua tail (docker parser) -> lua filter with a trivial callback -> null, twice: the callback
      returns 0 (record kept as is: one call, no conversion back) and 1 (record and time
      replaced: the table converted back into a record); compare with c
  rewrite_tag  tail (docker parser) -> rewrite_tag re-tagging every record (KEEP false,
      so each one runs the filters again under its new tag) -> null: compare with c
  os  tail (docker parser) -> opensearch (Logstash_Format, Generate_ID) into the tests'
      local bulk server, in this process (bench/opensearch.py)
  http  tail (docker parser) -> http output (Format json_lines) into a recording server on
      127.0.0.1 in the bench process (it shares the 2 cores), then the same with
      ``compress gzip`` (``http-gzip``); compare with c
  ks  tail (docker parser) + parser filter -> kinesis_streams into a local moto server
      (partition key $state, 2 shards), every record read back (bench/kinesis_streams.py)
  sd  the systemd input (journalctl child included) reading a real journal of 200k entries
      of three units, Tag host.*, into null
  vs-fb  logtide and a Fluent Bit binary (--fluent-bit PATH) on the same trees, runs
      alternating: d, a, a-cri, eks -> null, eks -> file, eks -> cloudwatch_logs on moto
      over HTTPS, c, ml, lua-0, lua-1, rewrite_tag (bench/fluentbit.py; --vs-fb picks
      some); not in the default list
  fwd tail (docker parser) -> forward output (Require_ack_response On) into a second
      logtide, forward input -> null (bench/forward.py): rows fwd-out (the sender, --once)
      and fwd-in (the receiver's CPU and peak RSS over the same records)

For --once runs: records/s over the child's wall time (start to exit, interpreter start-up
included), records per CPU-second (user+sys from the child's rusage) and peak RSS (the
child's VmHWM, sampled every 20 ms). Prints a table and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eks import scenario_eks, scenario_eks_cw
from fluentbit import PIPELINES, fluent_bit_version, scenario_versus_fluent_bit
from forward import scenario_forward
from kinesis_streams import scenario_kinesis_streams
from many_files import many_files
from measure import Result, count_lines, run_best, run_command, run_once
from opensearch import scenario_opensearch
from python_filter import scenario_python
from workload import LUA_FILTER, NULL_OUTPUT, REWRITE_TAG, write_config, write_logs

HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def _prepared(kind: str, fmt: str, lines: int, label: str) -> Iterator[tuple[Path, Path]]:
    """A scratch folder with ``lines`` records of ``fmt`` logs and the ``kind`` config:
    (the folder, the config)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
        root = Path(tmp)
        conf = write_config(root, kind, fmt)
        write_logs(root / "logs" / "app.log", lines, fmt)
        yield root, conf


def scenario_file(lines: int, fmt: str, repeat: int) -> Result:
    label = "a" if fmt == "docker" else "a-cri"
    with _prepared("file", fmt, lines, label) as (root, conf):
        result = run_best(conf, lines, label, repeat)
        ca, notca = count_lines(root / "out" / "ca.log"), count_lines(root / "out" / "notca.log")
        result.delivered = ca + notca
        result.note = f"CA {ca:,} / not CA {notca:,}"
        return result


def scenario_aws(lines: int) -> Result:
    from logtide.agent.testing import moto_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines

    with moto_server() as moto, tempfile.TemporaryDirectory(prefix="bench-b-") as tmp:
        root = Path(tmp)
        bucket = "bench-logs"
        moto.client("s3").create_bucket(Bucket=bucket)
        conf = write_config(
            root, "aws", "docker", bucket=bucket, region=moto.region, endpoint=moto.endpoint
        )
        write_logs(root / "logs" / "app.log", lines, "docker")
        result = run_once(conf, lines, "b")
        in_s3 = _s3_records(moto.client("s3"), bucket)
        in_cw = _cloudwatch_records(moto.client("logs"), "fluent-bit-cloudwatch-demo")
        result.delivered = in_s3 + in_cw
        result.note = f"S3 {in_s3:,} / CloudWatch {in_cw:,}; moto shares the 2 cores"
        return result


def _s3_records(client: object, bucket: str) -> int:
    count = 0
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)  # type: ignore[attr-defined]
    for page in pages:
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()  # type: ignore[attr-defined]
            count += body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    return count


def _cloudwatch_records(client: object, group: str) -> int:
    count = 0
    streams = client.describe_log_streams(logGroupName=group)["logStreams"]  # type: ignore[attr-defined]
    for stream in streams:
        token = None
        while True:
            kwargs = {"logGroupName": group, "logStreamName": stream["logStreamName"]}
            kwargs["startFromHead"] = True  # type: ignore[assignment]
            if token:
                kwargs["nextToken"] = token
            page = client.get_log_events(**kwargs)  # type: ignore[attr-defined]
            count += len(page["events"])
            if not page["events"] or page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
    return count


def scenario_tail(lines: int, repeat: int) -> Result:
    """Issue 3's benchmark: tail + docker parser + parser filter -> null."""
    with _prepared("parse-null", "docker", lines, "t") as (_, conf):
        return run_best(conf, lines, "t", repeat)


def scenario_aws_filter(lines: int, repeat: int) -> Result:
    """tail -> aws filter -> null; the IMDS is the tests' stand-in, in this process."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.fake_imds import FakeImds, fake_imds

    with (
        fake_imds(FakeImds(tags={"Name": "bench-node", "team": "logs"})) as imds,
        tempfile.TemporaryDirectory(prefix="bench-aws-") as tmp,
    ):
        root = Path(tmp)
        conf = write_config(root, "aws-filter", "docker", imds=imds.url)
        write_logs(root / "logs" / "app.log", lines, "docker")
        result = run_best(conf, lines, "aws", repeat)
        result.note = f"{len(imds.requests)} IMDS requests over {repeat} runs; compare with c"
        return result


def scenario_reference(lines: int, repeat: int) -> Result:
    """The issue's tight orjson loop over the same lines: how fast the machine is now."""
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        root = Path(tmp)
        (root / "out").mkdir()
        log = root / "app.log"
        write_logs(log, lines, "docker")
        argv = [sys.executable, str(HERE / "reference.py"), str(log), str(root / "out")]
        runs = [run_command(argv, root, lines, "ref") for _ in range(max(1, repeat))]
        best = min(runs, key=lambda r: r.wall_s)
        best.note = "the issue's reference loop (split, 2 parses, filter, serialise)"
        return best


def scenario_lua(lines: int, repeat: int) -> list[Result]:
    """tail -> lua (a callback returning 0, then one returning 1) -> null."""
    results: list[Result] = []
    for code in (0, 1):
        label = f"lua-{code}"
        with _prepared("null", "docker", lines, label) as (_, conf):
            conf.write_text(conf.read_text() + LUA_FILTER.format(code=code))
            result = run_best(conf, lines, label, repeat)
            result.note = f"callback returns {code}; compare with c"
            results.append(result)
    return results


def scenario_multiline(lines: int, repeat: int) -> Result:
    with _prepared("multiline-null", "docker", lines, "ml") as (_, conf):
        result = run_best(conf, lines, "ml", repeat)
        result.note = "compare with c (same logs, no filter)"
        return result


def scenario_null(lines: int, repeat: int) -> Result:
    with _prepared("null", "docker", lines, "c") as (_, conf):
        return run_best(conf, lines, "c", repeat)


def scenario_rewrite_tag(lines: int, repeat: int) -> Result:
    """tail -> rewrite_tag (every record re-tagged and re-emitted) -> null."""
    with _prepared("null", "docker", lines, "rewrite_tag") as (_, conf):
        text = conf.read_text()
        conf.write_text(text.replace("[OUTPUT]", REWRITE_TAG + "[OUTPUT]", 1))
        result = run_best(conf, lines, "rewrite_tag", repeat)
        result.note = "every record re-emitted once (KEEP false); compare with c"
        return result


HTTP_OUTPUT = """\
[OUTPUT]
    Name           http
    Match          *
    Port           {port}
    URI            /bench
    Format         json_lines
    json_date_key  false
{extra}"""


def scenario_http(lines: int, repeat: int) -> list[Result]:
    """tail -> http (json_lines, then gzip) into a local server that counts the lines of
    every 2xx-answered body (it runs in this process, on the same 2 cores)."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.http_sink import HttpSink, sink_in_thread

    results = []
    for label, extra in (("http", ""), ("http-gzip", "    compress       gzip\n")):
        with (
            sink_in_thread(HttpSink(keep_bodies=False)) as sink,
            _prepared("null", "docker", lines, label) as (_, conf),
        ):
            output = HTTP_OUTPUT.format(port=sink.sink.port, extra=extra)
            conf.write_text(conf.read_text().replace(NULL_OUTPUT, output))
            result = run_best(conf, lines, label, repeat)
            runs = max(1, repeat)
            result.delivered = sink.sink.lines_accepted // runs
            result.note = (
                f"{len(sink.sink.requests)} requests over {runs} runs; server in-process; "
                "compare with c"
            )
            results.append(result)
    return results


def scenario_systemd(entries: int, repeat: int) -> Result:
    """The systemd input over a real journal (written by systemd-journal-remote; `make
    journal-remote` fetches it) into null; the journalctl child's CPU counts (it is reaped
    by the agent, so wait4 includes it)."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.journal import journal_remote, unit_entries, write_journal

    if journal_remote() is None or shutil.which("journalctl") is None:
        raise SystemExit("scenario sd needs journalctl and systemd-journal-remote")
    with tempfile.TemporaryDirectory(prefix="bench-sd-") as tmp:
        root = Path(tmp)
        units = ("kubelet.service", "containerd.service", "docker.service")
        for start in range(0, entries, 50_000):
            batch = unit_entries(min(50_000, entries - start), start=start)
            for n, entry in enumerate(batch, start):
                entry["_SYSTEMD_UNIT"] = units[n % 3]
                entry["MESSAGE"] = f"I0701 06:39:30.845029    3200 reconciler.go:481] line {n}"
            write_journal(root / "journal" / "system.journal", batch, start=start)
        conf = root / "fluent-bit.conf"
        conf.write_text(
            "[SERVICE]\n    Flush 1\n    Log_Level warn\n"
            f"[INPUT]\n    Name systemd\n    Tag host.*\n    Path {root / 'journal'}\n"
            f"    DB {root / 'state' / 'systemd.db'}\n"
            "[OUTPUT]\n    Name null\n    Match *\n"
        )
        result = run_best(conf, entries, "sd", repeat)
        result.note = "systemd input, journalctl child included"
        return result


def machine() -> dict[str, str]:
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_table(results: list[Result]) -> None:
    head = f"{'scenario':<22}{'records':>10}{'wall s':>8}{'rec/s':>10}{'rec/CPU-s':>11}"
    head += f"{'CPU%':>7}{'RSS MiB':>9}{'delivered':>11}  note"
    print(head)
    for r in results:
        cpu = f"{r.cpu_percent:.2f}" if r.cpu_percent is not None else "-"
        rate = f"{r.records_per_s:,.0f}" if r.records_per_s else "-"
        per_cpu = f"{r.records_per_cpu_s:,.0f}" if r.records_per_cpu_s else "-"
        delivered = f"{r.delivered:,}" if r.delivered is not None else "-"
        print(
            f"{r.scenario:<22}{r.records:>10,}{r.wall_s:>8.2f}{rate:>10}{per_cpu:>11}"
            f"{cpu:>7}{r.peak_rss_mib:>9.1f}{delivered:>11}  {r.note}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="records per --once run")
    parser.add_argument("--files", type=int, default=1000, help="files tailed in scenario d")
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU window of scenario d")
    parser.add_argument(
        "--journal-entries", type=int, default=200_000, help="journal entries of scenario sd"
    )
    parser.add_argument(
        "--only",
        default="ref,a,a-cri,b,c,t,aws,lua,rewrite_tag,ml,eks,eks-cw,sd,fwd,d",
        help="comma-separated scenarios",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of ref, a, a-cri, c, t, aws, lua, ml, eks, eks-cw; the fastest is shown",
    )
    parser.add_argument(
        "--fluent-bit", metavar="PATH", help="the Fluent Bit executable scenario vs-fb runs"
    )
    parser.add_argument(
        "--vs-fb",
        default=",".join(PIPELINES),
        help="comma-separated pipelines of scenario vs-fb",
    )
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    runs: dict[str, Callable[[], list[Result]]] = {
        "a": lambda: [scenario_file(args.lines, "docker", args.repeat)],
        "a-cri": lambda: [scenario_file(args.lines, "cri", args.repeat)],
        "b": lambda: [scenario_aws(args.lines)],
        "c": lambda: [scenario_null(args.lines, args.repeat)],
        "t": lambda: [scenario_tail(args.lines, args.repeat)],
        "aws": lambda: [scenario_aws_filter(args.lines, args.repeat)],
        "lua": lambda: scenario_lua(args.lines, args.repeat),
        "ml": lambda: [scenario_multiline(args.lines, args.repeat)],
        "ref": lambda: [scenario_reference(args.lines, args.repeat)],
        "d": lambda: many_files(args.files, args.seconds),
        "eks": lambda: [scenario_eks(args.lines, args.repeat)],
        "eks-cw": lambda: [scenario_eks_cw(args.lines, args.repeat)],
        "rewrite_tag": lambda: [scenario_rewrite_tag(args.lines, args.repeat)],
        "sd": lambda: [scenario_systemd(args.journal_entries, args.repeat)],
        "ks": lambda: [scenario_kinesis_streams(args.lines)],
        "python": lambda: scenario_python(args.lines, args.repeat),
        "os": lambda: [scenario_opensearch(args.lines, args.repeat)],
        "http": lambda: scenario_http(args.lines, args.repeat),
        "fwd": lambda: scenario_forward(args.lines, args.repeat),
        "vs-fb": lambda: scenario_versus_fluent_bit(
            args.fluent_bit,
            args.lines,
            args.repeat,
            args.files,
            args.seconds,
            tuple(name.strip() for name in args.vs_fb.split(",") if name.strip()),
        ),
    }
    unknown = [name for name in chosen if name not in runs]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; valid: {', '.join(runs)}")
    info = machine()
    if "vs-fb" in chosen and args.fluent_bit:
        info["fluent_bit"] = fluent_bit_version(args.fluent_bit)
    results: list[Result] = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(runs[name]())
        # Written after every scenario: a later one that fails keeps what was measured.
        payload = {"machine": info, "results": [asdict(r) for r in results]}
        Path(args.output).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"machine: {info['nproc']} x {info['cpu']}, Python {info['python']}")
    if "fluent_bit" in info:
        print(f"Fluent Bit: {info['fluent_bit']} ({args.fluent_bit})")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
