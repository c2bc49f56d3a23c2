"""Thousands of distinct key values through the real CLI with few file descriptors.

The store kept one descriptor per open buffer, so 3,000 partitions under ``ulimit -n 256``
failed with EMFILE; the buffer whose file could not be opened was journaled anyway and its
upload retried forever. Each new buffer also rewrote the whole journal (two fsyncs).
"""

from __future__ import annotations

import resource
from pathlib import Path

import orjson

from tests.integration.s3.process import create_bucket, objects, run_once, tail_to_s3_config
from tests.support.moto_server import MotoServer

T0 = 1795744014


def few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def distinct_values_uploaded(
    moto: MotoServer, tmp_path: Path, values: int, timeout: float = 240
) -> None:
    create_bucket(moto)
    log = tmp_path / "app.log"
    log.write_text(
        "".join(
            orjson.dumps({"time": str(T0), "user": f"u{n:05d}", "n": n}).decode() + "\n"
            for n in range(values)
        )
    )
    config = tail_to_s3_config(tmp_path, moto, log, s3="    s3_key_format /logs/user=$user/$UUID")
    result = run_once(config, timeout=timeout, preexec_fn=few_descriptors)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Too many open files" not in result.stderr
    found = objects(moto)
    assert len(found) == values
    assert sorted(r["n"] for records in found.values() for r in records) == list(range(values))
    assert not list((tmp_path / "store").rglob("*.jsonl"))


def test_many_distinct_key_values_with_few_descriptors(moto: MotoServer, tmp_path: Path) -> None:
    distinct_values_uploaded(moto, tmp_path, 600)
