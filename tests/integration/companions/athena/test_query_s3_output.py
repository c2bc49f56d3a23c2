"""The local Athena over objects written by the real s3 output (library pipeline -> moto),
with the DDL ``logtide athena ddl`` generates from the same config."""

from __future__ import annotations

import subprocess
import sys
from calendar import timegm
from pathlib import Path
from types import SimpleNamespace

import pytest

from logtide.agent.api import Pipeline
from logtide.agent.companions.athena.cli import ddl_text
from logtide.agent.companions.athena.local import LocalAthena
from logtide.agent.companions.athena.objects import S3Source
from logtide.agent.companions.athena.table import parse_ddl
from tests.support.moto_server import MotoServer

pytest.importorskip("duckdb")

BUCKET = "athena-it"
DAY = 86400
FIRST = timegm((2024, 5, 1, 0, 0, 0))


def _config(tmp_path: Path, endpoint: str, key_format: str, compression: str) -> Path:
    path = tmp_path / "fluent-bit.conf"
    path.write_text(
        f"""\
[OUTPUT]
    Name s3
    Match states.ca
    bucket {BUCKET}
    region us-east-1
    endpoint {endpoint}
    store_dir {tmp_path / "store"}
    upload_timeout 1h
    s3_key_format {key_format}
    compression {compression}
"""
    )
    return path


def _write_days(config: Path, days: int, per_day: int) -> None:
    for day in range(days):
        with Pipeline.from_file(str(config)).run_in_thread() as running:
            for index in range(per_day):
                moment = FIRST + day * DAY + index * 60
                record = {
                    "item_id": str(index % 7),
                    "product_category": ("Garden", "Office")[index % 2],
                    "price": str(10 + index % 5),
                    "quantity": str(1 + index % 4),
                    "state": "CA",
                }
                running.push("states.ca", record, time=moment)
            assert running.drain() == 0


def _ddl(config: Path, endpoint: str) -> str:
    args = SimpleNamespace(
        config=str(config),
        output=None,
        table="sales",
        tag=None,
        sample=[],
        sample_s3=True,
        column=["quantity:int"],
        since="2024-05-01",
        endpoint=endpoint,
    )
    text, warnings = ddl_text(args)
    assert warnings == []
    return text


@pytest.mark.parametrize(
    ("key_format", "compression"),
    [
        ("/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S", "none"),
        ("/fluent-bit-logs/$TAG/dt=%Y-%m-%d/%H-%M-%S-$UUID.gz", "gzip"),
    ],
)
def test_one_day_query_reads_one_day(
    moto: MotoServer, tmp_path: Path, key_format: str, compression: str
) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    config = _config(tmp_path, moto.endpoint, key_format, compression)
    _write_days(config, days=3, per_day=50)
    ddl = _ddl(config, moto.endpoint)
    (spec,) = parse_ddl(ddl)
    partition = spec.partitions[0].name
    source = S3Source(BUCKET, moto.endpoint)
    objects = source.list(spec.prefix)
    day_two = "2024/05/02/00" if partition == "datehour" else "2024-05-02"
    day_two_bytes = sum(
        o.size for o in objects if day_two in o.key or day_two.replace("-", "/") in o.key
    )
    with LocalAthena([spec], lambda _: source) as athena:
        everything = athena.query("SELECT count(*), sum(quantity) FROM sales")
        condition = (
            f"datehour BETWEEN '{day_two}' AND '2024/05/02/23'"
            if partition == "datehour"
            else f"dt = '{day_two}'"
        )
        one_day = athena.query(
            f"SELECT product_category, count(*) AS n, "
            f"date_format(min(from_iso8601_timestamp(date)), '%Y-%m-%d') AS day "
            f"FROM sales WHERE {condition} GROUP BY 1 ORDER BY 1"
        )
    assert everything.rows == [(150, 3 * sum(1 + i % 4 for i in range(50)))]
    assert everything.scan.bytes == sum(o.size for o in objects)
    assert one_day.rows == [("Garden", 25, "2024-05-02"), ("Office", 25, "2024-05-02")]
    assert one_day.scan.bytes == day_two_bytes > 0
    assert one_day.scan.objects == 1


def test_cli_query_against_moto(moto: MotoServer, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    config = _config(tmp_path, moto.endpoint, "/logs/$TAG/dt=%Y-%m-%d/%H-%M-%S-$UUID.gz", "gzip")
    _write_days(config, days=2, per_day=10)
    ddl = tmp_path / "sales.sql"
    ddl.write_text(_ddl(config, moto.endpoint))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "logtide.agent.cli",
            "athena",
            "query",
            "--ddl",
            str(ddl),
            "--endpoint",
            moto.endpoint,
            "--format",
            "csv",
            "SELECT dt, count(*) AS n FROM sales GROUP BY dt ORDER BY dt",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "dt,n\n2024-05-01,10\n2024-05-02,10\n"
    assert "in 2 object(s)" in result.stderr and "$0.000048" in result.stderr
