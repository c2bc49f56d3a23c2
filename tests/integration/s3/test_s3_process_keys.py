"""Record fields in s3_key_format through the real CLI: long values never merge objects."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.integration.s3.process import create_bucket, objects, run_once, tail_to_s3_config
from tests.support.moto_server import MotoServer

T0 = 1795744014


def test_long_field_values_keep_every_object_apart(moto: MotoServer, tmp_path: Path) -> None:
    create_bucket(moto)
    log = tmp_path / "app.log"
    # Ten states that share their first 1,100 bytes: cutting the key to 1,024 bytes from the
    # end made all ten buffers one key, each upload overwriting the one before.
    states = ["x" * 1100 + f"-{n}" for n in range(10)]
    log.write_text(
        "".join(
            orjson.dumps({"time": str(T0 + n), "state": state, "n": n}).decode() + "\n"
            for n, state in enumerate(states)
        )
    )
    config = tail_to_s3_config(
        tmp_path, moto, log, s3="    s3_key_format /fluent-bit-logs/$TAG/state=$state/$UUID.gz"
    )
    result = run_once(config)
    assert result.returncode == 0, result.stderr[-3000:]
    found = objects(moto)
    assert len(found) == 10
    assert all(len(key.encode()) <= 1024 for key in found)
    assert all(key.startswith("fluent-bit-logs/app/state=") for key in found)
    assert sorted(r["n"] for records in found.values() for r in records) == list(range(10))
    assert {r["state"] for records in found.values() for r in records} == set(states)
