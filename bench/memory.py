"""Where an agent's resident memory goes before any record flows (issue 22).

For the article's pipeline into files (``file``) and into S3 + CloudWatch Logs (``aws``),
a fresh interpreter reports its RSS after each step of the run path: start, importing the
CLI, building the plan (parsers, stream tasks compiled), importing the engine and the
plugins' modules, and for ``aws`` creating the outputs' botocore clients (no request is
sent; fake credentials). Read next to scenario ``a``/``b``'s peak RSS: the rest is records
in flight and what an output holds for a flush.

    bench/memory.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import child_env
from workload import write_config

# Runs in the child: one line per step, "step RSS-MiB".
PROBE = """
import sys
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
def say(step):
    print(f"{step} {rss():.1f}", flush=True)
say("interpreter")
import asyncio
import logtide.agent.cli as cli
cli._one_malloc_arena()  # as main() does before any thread starts
say("cli imported")
plan = cli.build_plan(cli.build_document(cli.parse_args(["-c", sys.argv[1]])))
say("plan built")
import logtide.agent.engine.engine, logtide.agent.engine.reload
for spec in plan.specs:
    __import__(spec.cls.__module__)
say("run path imported")
SERVICES = {"s3": "s3", "cloudwatch_logs": "logs", "kinesis_firehose": "firehose"}
aws = [(spec, SERVICES[spec.cls.name]) for spec in plan.outputs if spec.cls.name in SERVICES]
if aws:
    from logtide.sinks.aws.client import AwsClients
    async def clients():
        made = [AwsClients(spec.config) for spec, _ in aws]
        for holder, (_, service) in zip(made, aws):
            await holder.client(service)
        say("aws clients created")
        for holder in made:
            await holder.close()
    asyncio.run(clients())
"""

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def probe(conf: Path) -> list[tuple[str, float]]:
    env = {**child_env(), **FAKE_AWS}
    # The first run compiles bytecode into the children's cache; it is not counted.
    argv = [sys.executable, "-c", PROBE, str(conf)]
    subprocess.run(argv, env=env, check=True, capture_output=True, cwd=conf.parent)
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, cwd=conf.parent)
    steps = []
    for line in out.stdout.splitlines():
        name, _, value = line.rpartition(" ")
        steps.append((name, float(value)))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per config; lowest shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for kind in ("file", "aws"):
            root = Path(tmp) / kind
            root.mkdir()
            extra = {"bucket": "b", "region": "us-east-1", "endpoint": "http://127.0.0.1:9"}
            conf = write_config(root, kind, "docker", **(extra if kind == "aws" else {}))
            runs = [probe(conf) for _ in range(max(1, args.repeat))]
            print(f"{kind}: RSS MiB after each step (lowest of {len(runs)} runs; +step's own)")
            previous = 0.0
            for index, (step, _) in enumerate(runs[0]):
                value = min(run[index][1] for run in runs)
                print(f"  {step:<22}{value:7.1f}  +{value - previous:.1f}")
                previous = value
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
