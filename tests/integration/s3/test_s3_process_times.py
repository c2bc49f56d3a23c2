"""Out-of-range event times through the real CLI: per record, never a stalled or lost batch.

A ``%s`` time of ``99999999999999999999`` overflowed ``time.gmtime`` in the S3 key and date
key; the OverflowError was retried forever, so the good records around it never reached S3.
A year-10000 time made stdout's ISO-8601 date raise and drop its whole batch.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.integration.s3.process import create_bucket, objects, run_once, tail_to_s3_config
from tests.support.moto_server import MotoServer

T0 = 1795744014
BAD_TIMES = ["99999999999999999999", "253402300800", "-99999999999999"]
# A record the parser never sees: the dummy input's fixed time lies past year 9999.
DUMMY_PAST_9999 = """
[INPUT]
    Name           dummy
    Tag            app
    Dummy          {"n": -1}
    Samples        1
    Start_time_sec 300000000000
"""
STDOUT = """
[OUTPUT]
    Name             stdout
    Match            app
    Format           json_lines
    json_date_format iso8601
"""


def test_bad_times_are_handled_per_record_in_s3_and_stdout(
    moto: MotoServer, tmp_path: Path
) -> None:
    create_bucket(moto)
    log = tmp_path / "app.log"
    lines = [{"time": str(T0 + n), "n": n} for n in range(5)]
    lines += [{"time": bad, "n": 5 + i} for i, bad in enumerate(BAD_TIMES)]
    lines += [{"time": str(T0 + n), "n": n} for n in range(8, 13)]
    log.write_text("".join(orjson.dumps(line).decode() + "\n" for line in lines))
    config = tail_to_s3_config(
        tmp_path,
        moto,
        log,
        s3="    s3_key_format /logs/n=$n/%Y/$UUID",
        extra_outputs=DUMMY_PAST_9999 + STDOUT,
    )
    result = run_once(config)
    assert result.returncode == 0, result.stderr[-3000:]
    every = list(range(-1, 13))

    printed = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["n"] for r in printed) == every
    by_n = {r["n"]: r for r in printed}
    assert by_n[0]["date"] == "2026-11-27T01:46:54.000000Z"
    assert by_n[-1]["date"] == "9999-12-31T23:59:59.000000Z"  # clamped by the output
    # The parser takes an out-of-range time as invalid: the record keeps its read time.
    assert all(by_n[n]["time"] == bad for n, bad in zip(range(5, 8), BAD_TIMES, strict=True))

    found = objects(moto)
    stored = {r["n"]: r for records in found.values() for r in records}
    assert sorted(stored) == every and len(found) == len(every)
    assert stored[-1]["date"] == "9999-12-31T23:59:59.000000Z"
    assert any(key.startswith("logs/n=-1/9999/") for key in found)
    assert "1 record(s) with a time outside years 1..9999" in result.stderr
