"""store_dir_limit_size through the real CLI: backpressure with one warning, nothing dropped."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.integration.s3.process import create_bucket, objects, run_once, tail_to_s3_config
from tests.support.moto_server import MotoServer

T0 = 1795744014
# Three batches of the engine's 8,192 records: the second and third find store_dir full.
LINES = 20_000
LIMIT = 32 * 1024


def test_store_dir_limit_holds_records_back_and_loses_none(
    moto: MotoServer, tmp_path: Path
) -> None:
    create_bucket(moto)
    log = tmp_path / "app.log"
    pad = "p" * 200
    log.write_text(
        "".join(
            orjson.dumps({"time": str(T0 + n), "n": n, "pad": pad}).decode() + "\n"
            for n in range(LINES)
        )
    )
    config = tail_to_s3_config(
        tmp_path,
        moto,
        log,
        s3=f"    store_dir_limit_size {LIMIT}\n    Retry_Limit no_limits",
    )
    result = run_once(config)
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "store_dir_limit_size" in line]
    assert len(warnings) == 1, result.stderr[-3000:]  # one line, however many waits
    found = objects(moto)
    numbers = sorted(r["n"] for records in found.values() for r in records)
    assert numbers == list(range(LINES))
    assert len(found) > 1  # the limit sealed buffers long before total_file_size
