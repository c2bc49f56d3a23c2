"""Run the real ``logtide`` over one log file into moto's S3, and read back what landed."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.support.moto_server import MotoServer

LOGTIDE = Path(sys.executable).with_name("logtide")
BUCKET = "robust"

PARSERS = """
[PARSER]
    Name        epoch
    Format      json
    Time_Key    time
    Time_Format %s
"""


def tail_to_s3_config(
    folder: Path, moto: MotoServer, log: Path, s3: str = "", extra_outputs: str = ""
) -> Path:
    """tail (``Parser epoch``: a JSON line whose ``time`` is Unix seconds) -> s3."""
    (folder / "parsers.conf").write_text(PARSERS)
    config = folder / "fluent-bit.conf"
    config.write_text(
        f"""
[SERVICE]
    Flush        0.2
    Parsers_File parsers.conf

[INPUT]
    Name            tail
    Path            {log}
    Tag             app
    Read_from_Head  On
    Parser          epoch

[OUTPUT]
    Name            s3
    Match           app
    bucket          {BUCKET}
    region          {moto.region}
    endpoint        {moto.endpoint}
    store_dir       {folder / "store"}
    total_file_size 1M
    upload_timeout  1s
    Retry_Limit     2
{s3}
{extra_outputs}
"""
    )
    return config


def run_once(
    config: Path,
    timeout: float = 240,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        env=dict(os.environ),  # the moto fixture put fake credentials there
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def objects(moto: MotoServer) -> dict[str, list[dict[str, Any]]]:
    """Every object in the bucket: key -> its records (gzip bodies unpacked)."""
    client: Any = moto.client("s3")
    found: dict[str, list[dict[str, Any]]] = {}
    token: dict[str, str] = {}
    while True:
        listing = client.list_objects_v2(Bucket=BUCKET, **token)
        for item in listing.get("Contents", []):
            body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            found[item["Key"]] = [orjson.loads(line) for line in body.splitlines()]
        if not listing.get("IsTruncated"):
            return found
        token = {"ContinuationToken": listing["NextContinuationToken"]}


def create_bucket(moto: MotoServer) -> None:
    client: Any = moto.client("s3")
    client.create_bucket(Bucket=BUCKET)
