#!/usr/bin/env python3
"""How many bytes a one-day Athena question scans: the article's layout against the
Hive-partitioned examples, on 7 days of the ordering app's CA records.

    .venv/bin/python examples/athena/bench_scan.py [--per-day 5000]

The records go through logtide's real s3 output (the library Pipeline, one run per day so
each day's objects carry that day's key) into an embedded S3 (moto), with the settings of:

- examples/article/fluent-bit.conf        (the article: JSON lines, YYYY/MM/DD/HH/MM/SS keys)
- examples/athena/fluent-bit-hive-gzip.conf    (dt=YYYY-MM-DD keys, gzip)
- examples/athena/fluent-bit-hive-parquet.conf (dt=YYYY-MM-DD keys, Parquet)

Then ``logtide athena query`` (the local Athena) answers "CA sales by category on day 3"
over each table (the article's DDL, and DDLs from ``logtide athena ddl``) and reports the
bytes Athena would scan. Needs moto, duckdb (and pyarrow for the Parquet variant).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from calendar import timegm
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import ordering_app  # noqa: E402

from logtide.agent.api import Pipeline  # noqa: E402
from logtide.agent.companions.athena.cli import ddl_text  # noqa: E402
from logtide.agent.companions.athena.local import LocalAthena  # noqa: E402
from logtide.agent.companions.athena.objects import S3Source  # noqa: E402
from logtide.agent.companions.athena.table import parse_ddl  # noqa: E402
from logtide.agent.config.loader import load_file  # noqa: E402
from logtide.agent.engine.plan import build_plan  # noqa: E402

BUCKET = "eks-fluent-bit-logs-bench"  # one bucket per layout: BUCKET-<layout>
FIRST_DAY = "2024-05-01"
DAYS = 7
ASKED_DAY = "2024-05-03"
LAYOUTS = {
    "article": HERE.parent / "article" / "fluent-bit.conf",
    "hive-gzip": HERE / "fluent-bit-hive-gzip.conf",
    "hive-parquet": HERE / "fluent-bit-hive-parquet.conf",
}
S3_KEYS = ("s3_key_format", "compression", "format", "total_file_size")
ARTICLE_QUESTION = """
SELECT product_category, count(*) AS orders, sum(CAST(price AS integer) * quantity) AS revenue
FROM eks_fb_s3
WHERE substr("date", 1, 10) = '{day}'
GROUP BY product_category ORDER BY product_category"""
HIVE_QUESTION = """
SELECT product_category, count(*) AS orders,
       sum(CAST(price AS integer) * CAST(quantity AS integer)) AS revenue
FROM {table}
WHERE dt = '{day}'
GROUP BY product_category ORDER BY product_category"""


def s3_settings(config: Path) -> dict[str, str]:
    """The s3 output's settings as written in ``config`` (through logtide's own loader)."""
    plan = build_plan(load_file(str(config)))
    spec = next(s for s in plan.outputs if s.cls.name == "s3")
    return {k: str(spec.settings[k]) for k in S3_KEYS if spec.settings.is_set(k)}


def pipeline_config(endpoint: str, store: Path, layouts: dict[str, dict[str, str]]) -> str:
    sections = []
    for name, settings in layouts.items():
        lines = [
            "[OUTPUT]",
            "    Name s3",
            f"    Alias {name}",
            "    Match states.ca",
            f"    bucket {BUCKET}-{name}",
            "    region us-east-1",
            f"    endpoint {endpoint}",
            f"    store_dir {store / name}",
            "    upload_timeout 1h",
        ]
        lines += [f"    {key} {value}" for key, value in settings.items()]
        sections.append("\n".join(lines))
    return "\n".join(sections) + "\n"


def day_records(day: int, per_day: int, rng: random.Random) -> list[tuple[float, dict[str, Any]]]:
    start = timegm(time.strptime(FIRST_DAY, "%Y-%m-%d")) + day * 86400
    events = []
    for index in range(per_day):
        moment = start + (index + rng.random()) * 86400 / per_day
        record = ordering_app.json.loads(ordering_app.order(rng))
        record["state"] = "CA"  # the s3 output only ever sees the CA stream
        record["stream"] = "stdout"
        record["time"] = ordering_app.docker_time(moment + 0.2)
        events.append((moment, record))
    return events


def write_days(endpoint: str, work: Path, per_day: int, layouts: dict[str, dict[str, str]]) -> None:
    import asyncio

    config = pipeline_config(endpoint, work / "store", layouts)
    rng = random.Random(7)

    async def one_day(events: list[tuple[float, dict[str, Any]]]) -> None:
        async with Pipeline.from_string(config).running() as running:
            for moment, record in events:
                running.push("states.ca", record, time=moment)
            code = await running.drain()
        if code != 0:
            raise SystemExit(f"pipeline exited with {code}")

    for day in range(DAYS):
        asyncio.run(one_day(day_records(day, per_day, rng)))


def hive_ddl(config: Path, table: str, endpoint: str) -> str:
    args = SimpleNamespace(
        config=str(config),
        output=None,
        table=table,
        tag="states.ca",
        sample=[],
        sample_s3=True,
        column=[],
        since=FIRST_DAY,
        endpoint=endpoint,
    )
    os.environ["S3_BUCKET"] = f"{BUCKET}-{table.replace('_', '-')}"
    text, _ = ddl_text(args)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=5000, help="CA records per day")
    parser.add_argument("--skip-parquet", action="store_true")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from logtide.agent.companions.local_aws import moto_server

    os.environ.update(S3_BUCKET=BUCKET, AWS_REGION="us-east-1")
    names = [n for n in LAYOUTS if not (args.skip_parquet and n == "hive-parquet")]
    layouts = {name: s3_settings(LAYOUTS[name]) for name in names}
    with moto_server() as moto, tempfile.TemporaryDirectory() as tmp:
        for name in names:
            moto.client("s3").create_bucket(Bucket=f"{BUCKET}-{name}")
        started = time.monotonic()
        write_days(moto.endpoint, Path(tmp), args.per_day, layouts)
        print(f"wrote {DAYS} days x {args.per_day} records in {time.monotonic() - started:.1f}s")
        article = (HERE / "article_table.sql").read_text()
        tables = {"article": article.replace("<<YOUR S3 BUCKET>>", f"{BUCKET}-article")}
        questions = {"article": ARTICLE_QUESTION.format(day=ASKED_DAY)}
        for name in names[1:]:
            table = name.replace("-", "_")
            tables[name] = hive_ddl(LAYOUTS[name], table, moto.endpoint)
            questions[name] = HIVE_QUESTION.format(table=table, day=ASKED_DAY)
        results = {}
        for name in names:
            source = S3Source(f"{BUCKET}-{name}", moto.endpoint, "us-east-1")
            with LocalAthena(parse_ddl(tables[name]), lambda _, s=source: s) as athena:
                results[name] = athena.query(questions[name])
        baseline = results["article"]
        print(f"\none-day question ({ASKED_DAY}) over {DAYS} days:\n")
        for name in names:
            result = results[name]
            same = "same answer" if result.rows == baseline.rows else "DIFFERENT ANSWER"
            ratio = baseline.scan.bytes / max(result.scan.bytes, 1)
            print(
                f"  {name:<13} {result.scan.bytes:>12,} bytes in {result.scan.objects:>2} objects"
                f"  1/{ratio:<6.1f} of the article's  ({same})"
            )
            print(f"  {'':<13} {result.scan.summary()}")
        print("\nanswer:", baseline.rows)
        if any(results[n].rows != baseline.rows for n in names):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
