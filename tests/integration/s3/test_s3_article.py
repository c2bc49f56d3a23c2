"""The article's pipeline through the real CLI: 20,000 app lines, every CA record in S3 once."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.moto_server import MotoServer

LOGTIDE = Path(sys.executable).with_name("logtide")
ARTICLE = Path(__file__).with_name("article")
LINES = 20_000
BUCKET = "eks-fluentbit-logs-test"
KEY_RE = re.compile(
    r"fluent-bit-logs/states\.ca/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}/\d{2}-object[A-Za-z0-9]{8}"
)
STATES = ("AL", "AK", "AZ", "CA", "CO", "NY", "TX", "WA")  # CA often enough to matter


def _needed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


pytestmark = pytest.mark.skipif(
    not all(
        _needed(m)
        for m in ("logtide.agent.inputs.tail", "logtide.streamsql", "logtide.sinks.cloudwatch_logs")
    ),
    reason="needs the tail input, the stream processor and cloudwatch_logs",
)


def app_line(rng: random.Random) -> str:
    """One line of the article's ordering app (its exact printf shape)."""
    order_date = datetime.date(2020, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    fields = {
        "item_id": str(rng.randint(1, 100)),
        "product_category": rng.choice(("Garden", "Kitchen", "Office", "Household")),
        "price": str(rng.randint(1, 100)),
        "quantity": str(rng.randint(1, 4)),
        "order_date": order_date,
        "state": rng.choice(STATES),
        "shipping_type": rng.choice(("Free", "3-Day", "2-Day")),
        "referral": rng.choice(("Other", "Friend/Colleague", "Repeat Customer", "Online Ad")),
    }
    return json.dumps(fields, separators=(",", ":"))


def write_container_log(path: Path) -> list[dict[str, Any]]:
    """Docker json-file lines; each has a unique ``time`` so duplicates are visible."""
    rng = random.Random(20_000)
    expected = []
    with path.open("w") as handle:
        for index in range(LINES):
            message = app_line(rng)
            stamp = f"2026-11-27T00:00:{index // 10000:02d}.{index % 10000:04d}00000Z"
            handle.write(json.dumps({"log": message + "\n", "stream": "stdout", "time": stamp}))
            handle.write("\n")
            record = json.loads(message)
            if record["state"] == "CA":
                expected.append({**record, "stream": "stdout", "time": stamp})
    return expected


def test_article_pipeline_puts_every_ca_record_in_s3_once(moto: MotoServer, tmp_path: Path) -> None:
    config_dir = tmp_path / "etc"
    shutil.copytree(ARTICLE, config_dir)
    log_dir = tmp_path / "containers"
    state_dir = tmp_path / "state"
    log_dir.mkdir()
    state_dir.mkdir()
    expected = write_container_log(log_dir / "ordering-app_default_app-0123456789ab.log")
    s3: Any = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    env = {
        **os.environ,  # the moto fixture put fake credentials there
        "LOG_DIR": str(log_dir),
        "STATE_DIR": str(state_dir),
        "S3_BUCKET": BUCKET,
        "AWS_REGION": moto.region,
        "AWS_ENDPOINT": moto.endpoint,
    }
    result = subprocess.run(
        [str(LOGTIDE), "-c", str(config_dir / "fluent-bit.conf"), "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys and all(KEY_RE.fullmatch(key) for key in keys), keys
    records = []
    for key in keys:
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines():
            record = orjson.loads(line)
            assert next(iter(record)) == "date"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record.pop("date"))
            records.append(record)
    assert len(expected) > 1000
    # exactly once: same multiset, and every record (unique by time) appears a single time
    assert Counter(r["time"] for r in records).most_common(1)[0][1] == 1
    assert sorted(records, key=lambda r: r["time"]) == expected
    assert list(records[0]) == [*expected[0]]
    assert not list((state_dir / "fluentbit").rglob("*.jsonl"))


def _dummy_to_s3(tmp_path: Path, endpoint: str, bucket: str, extra: str = "") -> Path:
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        f"""
[INPUT]
    Name     dummy
    Tag      states.ca
    Dummy    {{"item_id":"7","state":"CA"}}
    Samples  30

[OUTPUT]
    Name      s3
    Match     states.ca
    bucket    {bucket}
    region    us-east-1
    endpoint  {endpoint}
    store_dir {tmp_path / "store"}
    Retry_Limit 1
{extra}
"""
    )
    return config


def test_once_with_a_missing_bucket_exits_1_and_keeps_the_data(
    moto: MotoServer, tmp_path: Path
) -> None:
    config = _dummy_to_s3(tmp_path, moto.endpoint, "no-such-bucket")
    result = subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr
    assert "Traceback" not in result.stderr
    kept = list((tmp_path / "store").rglob("*.jsonl"))
    assert sum(len(p.read_bytes().splitlines()) for p in kept) == 30


def test_once_parquet_objects_through_the_cli(moto: MotoServer, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    s3: Any = moto.client("s3")
    s3.create_bucket(Bucket="pq-bucket")
    extra = "    format parquet\n    compression zstd\n    s3_key_format /p/state=${state}/$UUID.parquet"
    config = _dummy_to_s3(tmp_path, moto.endpoint, "pq-bucket", extra)
    result = subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (item,) = s3.list_objects_v2(Bucket="pq-bucket")["Contents"]
    assert re.fullmatch(r"p/state=CA/[A-Za-z0-9]{8}\.parquet", item["Key"])
    body = s3.get_object(Bucket="pq-bucket", Key=item["Key"])["Body"].read()
    table = pq.read_table(__import__("io").BytesIO(body))
    assert table.num_rows == 30
    assert table.column_names == ["date", "item_id", "state"]
    assert table.to_pylist()[0]["state"] == "CA"
