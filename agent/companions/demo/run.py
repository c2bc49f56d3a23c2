"""``logtide demo``: the article from start to end on this machine.

1. an embedded AWS (moto on 127.0.0.1) with the bucket;
2. the sample ordering app as several "pods", each a process writing docker json-file logs
   into a /var/log/containers-like folder;
3. logtide itself, as a separate process, with the article's ConfigMap (adapted only where a
   laptop differs: see :mod:`logtide.agent.companions.demo.config`), its progress read from its
   metrics endpoint;
4. the article's Athena DDL and queries on the local Athena, then the consistency check.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from logtide.agent.cli_args import HelpFormatter
from logtide.agent.companions.athena.local import LocalAthena
from logtide.agent.companions.athena.objects import S3Source
from logtide.agent.companions.athena.render import table
from logtide.agent.companions.athena.table import parse_ddl
from logtide.agent.companions.demo.config import Adapted, adapt, find_article
from logtide.agent.companions.demo.verify import (
    cloudwatch_records,
    compare,
    s3_records,
    written_records,
)

BUCKET = "eks-fluent-bit-logs-demo"
REGION = "us-east-1"
LOG_GROUP = "fluent-bit-cloudwatch-demo"
S3_PREFIX = "fluent-bit-logs/states.ca/"
PLACEHOLDER = "<<YOUR S3 BUCKET>>"


@dataclass(slots=True)
class Options:
    duration: float
    rate: float
    pods: int
    keep: bool
    upload_timeout: str


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="logtide demo",
        description="Play the article (sample app -> logtide -> S3 + CloudWatch -> Athena) "
        "on this machine, with an embedded AWS.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, metavar="S", help="seconds the app runs"
    )
    parser.add_argument(
        "--rate", type=float, default=25.0, metavar="N", help="records per second per pod"
    )
    parser.add_argument(
        "--pods", type=int, default=3, metavar="N", help="ordering-app pods (article: 3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and print where")
    parser.add_argument(
        "--upload-timeout",
        default="5s",
        metavar="TIME",
        help="the s3 output's upload_timeout (article: 3m)",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.rate <= 0 or args.pods < 1:
        parser.error("--duration and --rate must be positive and --pods at least 1")
    return Options(args.duration, args.rate, args.pods, args.keep, args.upload_timeout)


class Console:
    """Step lines, and one live progress line on a terminal (a line every few seconds
    otherwise)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.live = out.isatty()
        self._last = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def progress(self, text: str, *, final: bool = False) -> None:
        line = f"[{self.elapsed():5.1f}s] {text}"
        if self.live:
            self.out.write("\r\x1b[K" + line + ("\n" if final else ""))
            self.out.flush()
        elif final or time.monotonic() - self._last >= 3:
            self._last = time.monotonic()
            self.say(line)


def _metrics(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=1) as r:
            payload: dict[str, Any] = orjson.loads(r.read())
            return payload
    except (OSError, ValueError):
        return None


def _total(metrics: dict[str, Any] | None, kind: str, prefix: str, counter: str) -> int:
    if not metrics:
        return 0
    return sum(
        int(values.get(counter, 0))
        for name, values in metrics.get(kind, {}).items()
        if name.startswith(prefix)
    )


class Demo:
    def __init__(self, options: Options, console: Console, workdir: Path) -> None:
        self.options = options
        self.console = console
        self.workdir = workdir
        self.logs = workdir / "var-log"
        self.pod_logs: list[Path] = []
        self.agent_log = workdir / "logtide.log"

    # -- steps -------------------------------------------------------------------------------

    def make_pods(self, app: Path) -> list[Path]:
        """The pods' (empty) log files and their containers/ symlinks, before logtide starts:
        the tail input, like Fluent Bit's, starts at the end of files it finds at startup."""
        sys.path.insert(0, str(app.parent))
        try:
            import ordering_app
        finally:
            sys.path.remove(str(app.parent))
        links: list[Path] = [
            ordering_app.make_pod(self.logs, f"ordering-app-{i}") for i in range(self.options.pods)
        ]
        self.pod_logs = [link.resolve() for link in links]
        return links

    def start_pods(self, app: Path) -> list[subprocess.Popen[bytes]]:
        count = int(self.options.rate * self.options.duration)
        return [
            subprocess.Popen(
                [
                    sys.executable,
                    str(app),
                    "--docker-log",
                    str(log),
                    "--rate",
                    str(self.options.rate),
                    "--count",
                    str(count),
                    "--seed",
                    str(index),
                ]
            )
            for index, log in enumerate(self.pod_logs)
        ]

    def wait_ready(self, agent: subprocess.Popen[bytes], port: int, files: int) -> None:
        """Until logtide's monitoring server answers and the tail input has every file open."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if agent.poll() is not None:
                raise DemoError(f"logtide exited with status {agent.returncode}")
            metrics = _metrics(port)
            if metrics and _total(metrics, "input", "tail", "files_opened") >= files:
                return
            time.sleep(0.2)
        raise DemoError("logtide did not open the pods' log files within 30 s")

    def start_agent(self, config: Adapted) -> subprocess.Popen[bytes]:
        env = dict(os.environ, S3_BUCKET=BUCKET, AWS_REGION=REGION)
        with self.agent_log.open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "logtide.agent.cli", "-c", str(config.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )

    def watch(
        self,
        agent: subprocess.Popen[bytes],
        pods: list[subprocess.Popen[bytes]],
        port: int,
        s3: S3Source,
    ) -> None:
        """Progress until the pods are done and logtide has accepted every line they wrote."""
        expected = int(self.options.rate * self.options.duration) * self.options.pods
        seen_keys: dict[str, int] = {}
        deadline = time.monotonic() + self.options.duration + 45
        while time.monotonic() < deadline:
            if agent.poll() is not None:
                raise DemoError(f"logtide exited with status {agent.returncode}")
            metrics = _metrics(port)
            read = _total(metrics, "input", "tail", "records")
            s3_accepted = _total(metrics, "output", "s3", "proc_records")
            cloudwatch = _total(metrics, "output", "cloudwatch_logs", "proc_records")
            for stored in s3.list(S3_PREFIX):
                if stored.key not in seen_keys:
                    seen_keys[stored.key] = s3.read(stored.key).count(b"\n")
            written = sum(log.read_bytes().count(b"\n") for log in self.pod_logs)
            in_s3 = sum(seen_keys.values())
            line = (
                f"app wrote {written:>5} | logtide read {read:>5} | S3: {in_s3:>4} records in "
                f"{len(seen_keys):>2} objects (+{s3_accepted - in_s3:>3} in store_dir) | "
                f"CloudWatch: {cloudwatch:>5}"
            )
            pods_done = all(p.poll() is not None for p in pods)
            if pods_done and written >= expected and s3_accepted + cloudwatch >= written:
                self.console.progress(line, final=True)
                return
            self.console.progress(line)
            time.sleep(0.5)
        raise DemoError("timed out waiting for logtide to deliver every line")

    def stop_agent(self, agent: subprocess.Popen[bytes]) -> None:
        agent.send_signal(signal.SIGTERM)
        try:
            code = agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
            raise DemoError("logtide did not stop within 30 s of SIGTERM") from None
        if code != 0:
            raise DemoError(f"logtide exited with status {code}")

    def athena(self, endpoint: str, article_ddl: Path, queries: list[tuple[str, str]]) -> Path:
        ddl_path = self.workdir / "eks_fb_s3.sql"
        ddl_path.write_text(article_ddl.read_text().replace(PLACEHOLDER, BUCKET))
        tables = parse_ddl(ddl_path.read_text())
        source = S3Source(BUCKET, endpoint, REGION)
        with LocalAthena(tables, lambda _: source) as athena:
            for title, sql in queries:
                self.console.say(f"\n== {title}\n{sql.strip()}\n")
                result = athena.query(sql)
                self.console.say(table(result.columns, result.rows).rstrip())
                self.console.say(result.scan.summary())
        return ddl_path

    def keep(self, moto: Any, ddl_path: Path) -> None:
        bucket_dir = self.workdir / "s3"
        bucket_dir.mkdir(parents=True, exist_ok=True)
        s3 = S3Source(BUCKET, moto.endpoint, REGION)
        for stored in s3.list(""):
            target = bucket_dir / stored.key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.read(stored.key))
        events = cloudwatch_records(moto.client("logs"), LOG_GROUP)
        cw_file = self.workdir / "cloudwatch" / f"{LOG_GROUP}.jsonl"
        cw_file.parent.mkdir(parents=True, exist_ok=True)
        cw_file.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
        self.console.say(
            f"\nkept in {self.workdir}:\n"
            f"  s3/                    the objects of s3://{BUCKET} (copied out of moto)\n"
            f"  {cw_file.relative_to(self.workdir)}  the CloudWatch Logs events\n"
            f"  var-log/               pods/, containers/, the tail DB and store_dir\n"
            f"  fluent-bit.conf        the adapted ConfigMap; logtide.log its log\n"
            f"query it again:\n"
            f"  logtide athena query --ddl {ddl_path} --local {bucket_dir} "
            f'"SELECT state, count(*) FROM eks_fb_s3 GROUP BY 1"'
        )


class DemoError(Exception):
    pass


def run(options: Options, out: TextIO) -> int:
    if importlib.util.find_spec("moto") is None:
        print("logtide demo needs the embedded AWS: pip install 'logtide[demo]'", file=out)
        return 2
    if importlib.util.find_spec("duckdb") is None:
        print("logtide demo needs the local Athena: pip install 'logtide[query]'", file=out)
        return 2
    from logtide.agent.companions.local_aws import free_port, moto_server

    # moto's web server logs every request; the demo has its own progress line.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    console = Console(out)
    article = find_article()
    app = article.parent / "ordering_app.py"
    article_ddl = article.parent / "athena" / "article_table.sql"
    queries_file = article.parent / "athena" / "ca_sales_by_category.sql"
    workdir = Path(tempfile.mkdtemp(prefix="logtide-demo-"))
    demo = Demo(options, console, workdir)
    agent: subprocess.Popen[bytes] | None = None
    pods: list[subprocess.Popen[bytes]] = []
    ok = False
    try:
        with moto_server() as moto:
            moto.client("s3").create_bucket(Bucket=BUCKET)
            port = free_port()
            config = adapt(
                article,
                workdir,
                endpoint=moto.endpoint,
                upload_timeout=options.upload_timeout,
                http_port=port,
            )
            console.say(
                'logtide demo: "Analyze Kubernetes container logs using Amazon S3 and Amazon '
                'Athena", on this machine'
            )
            console.say(f"  embedded AWS (moto)  {moto.endpoint}  bucket {BUCKET}")
            console.say(f"  the ConfigMap        {article}/, adapted ({config.path}):")
            for change in config.changes:
                console.say(f"      {change}")
            console.say(
                f"  ordering-app         {options.pods} pods x {options.rate:g} records/s for "
                f"{options.duration:g} s -> {demo.logs}/containers/"
            )
            links = demo.make_pods(app)
            agent = demo.start_agent(config)
            demo.wait_ready(agent, port, len(links))
            pods = demo.start_pods(app)
            s3 = S3Source(BUCKET, moto.endpoint, REGION)
            demo.watch(agent, pods, port, s3)
            demo.stop_agent(agent)
            agent = None
            ddl_path = demo.athena(
                moto.endpoint,
                article_ddl,
                [
                    ("the article's query", "SELECT * from eks_fb_s3\nLIMIT 10"),
                    ("CA sales by product category", queries_file.read_text()),
                ],
            )
            in_s3, objects = s3_records(s3, S3_PREFIX)
            in_cw = cloudwatch_records(moto.client("logs"), LOG_GROUP)
            verdict = compare(written_records(demo.pod_logs), in_s3, in_cw)
            console.say(f"\n== consistency check ({objects} S3 objects, log group {LOG_GROUP})")
            console.say(verdict.summary())
            ok = verdict.ok
            if options.keep:
                demo.keep(moto, ddl_path)
    except DemoError as exc:
        console.say(f"\nlogtide demo failed: {exc}; logtide's log: {demo.agent_log}")
        tail = demo.agent_log.read_text(errors="replace").splitlines()[-15:]
        console.say("\n".join("  | " + line for line in tail))
        options.keep = True
    finally:
        for process in [*pods, *([agent] if agent else [])]:
            if process.poll() is None:
                process.kill()
                process.wait()
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    console.say(f"\ndone in {console.elapsed():.1f} s")
    return 0 if ok else 1
