"""An AWS FireLens/EKS guidance-shaped pipeline end to end with the real process: tail ->
multiline (java) -> lua -> rewrite_tag -> two S3 prefixes on a moto server over HTTP.

Java stack traces come back as one record each, the lua script's fields are on every record,
error records move to their own tag (KEEP false: only there), and every logical record lands
in S3 exactly once, also across a restart that re-reads nothing already delivered.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.s3.process import BUCKET, create_bucket, objects, run_once
from tests.support.cli import run_logtide
from tests.support.moto_server import MotoServer

LUA = """
function enrich(tag, timestamp, record)
    local log = record["log"] or ""
    record["team"] = "payments"
    if string.find(log, "ERROR", 1, true) or string.find(log, "Exception", 1, true) then
        record["level"] = "ERROR"
    else
        record["level"] = "INFO"
    end
    return 2, timestamp, record
end
"""

CONFIG = """
[SERVICE]
    Flush 0.2

[INPUT]
    Name              tail
    Tag               app.*
    Path              {logs}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    multiline.parser  docker, cri

[FILTER]
    Name                   multiline
    Match                  app.*
    multiline.key_content  log
    multiline.parser       java

[FILTER]
    Name    lua
    Match   app.*
    script  enrich.lua
    call    enrich

[FILTER]
    Name   rewrite_tag
    Match  app.*
    Rule   $level ^(ERROR)$ errors.$TAG[1] false

[OUTPUT]
    Name            s3
    Match           app.*
    bucket          {bucket}
    region          {region}
    endpoint        {endpoint}
    store_dir       {state}/s3-app
    s3_key_format   /app/$TAG/%Y/$UUID
    total_file_size 1M
    upload_timeout  1s

[OUTPUT]
    Name            s3
    Match           errors.*
    bucket          {bucket}
    region          {region}
    endpoint        {endpoint}
    store_dir       {state}/s3-errors
    s3_key_format   /errors/$TAG/%Y/$UUID
    total_file_size 1M
    upload_timeout  1s
"""


def docker(log: str, n: int) -> str:
    stamp = f"2024-03-01T23:38:{n % 60:02d}.{n:09d}Z"
    return json.dumps({"log": log + "\n", "stream": "stdout", "time": stamp}) + "\n"


def write_app_log(path: Path, start: int, count: int) -> tuple[list[str], list[str]]:
    """``count`` requests, every fifth failing with a three-frame java stack trace; the
    logical records (info lines, error lines, joined traces) it should give."""
    info: list[str] = []
    errors: list[str] = []
    lines: list[str] = []
    for n in range(start, start + count):
        if n % 5 == 4:
            line = f"2024-03-01 23:38:40.000 ERROR 1 --- [exec-1] OrderService : failed id={n}"
            trace = [
                f"java.lang.IllegalStateException: order {n} is not valid",
                f"\tat com.example.OrderService.save(OrderService.java:{n})",
                "\tat com.example.OrderController.process(OrderController.java:134)",
                "\tat java.base/java.lang.Thread.run(Thread.java:833)",
            ]
            errors += [line, "\n".join(trace)]
            lines += [line, *trace]
        else:
            line = f"2024-03-01 23:38:39.000  INFO 1 --- [exec-2] OrderService : done id={n}"
            info.append(line)
            lines.append(line)
    with path.open("a") as out:
        out.writelines(docker(line, i) for i, line in enumerate(lines))
    return info, errors


def test_guidance_pipeline_dry_runs_and_delivers_each_record_once(
    moto: MotoServer, tmp_path: Path
) -> None:
    create_bucket(moto)
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    state.mkdir()
    (tmp_path / "enrich.lua").write_text(LUA)
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        CONFIG.format(
            logs=logs,
            state=state,
            bucket=BUCKET,
            region=moto.region,
            endpoint=moto.endpoint,
        )
    )
    dry = run_logtide("-c", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr

    info, errors = write_app_log(logs / "orders.log", 0, 100)
    first = run_once(config)
    assert first.returncode == 0, first.stderr[-3000:]
    more_info, more_errors = write_app_log(logs / "orders.log", 100, 50)
    second = run_once(config)
    assert second.returncode == 0, second.stderr[-3000:]
    info += more_info
    errors += more_errors

    found = objects(moto)
    app = [r for key, records in found.items() if key.startswith("app/") for r in records]
    err = [r for key, records in found.items() if key.startswith("errors/") for r in records]
    assert sorted(r["log"].rstrip("\n") for r in app) == sorted(info)
    assert sorted(r["log"].rstrip("\n") for r in err) == sorted(errors)
    assert all(r["team"] == "payments" for r in app + err)
    assert {r["level"] for r in app} == {"INFO"} and {r["level"] for r in err} == {"ERROR"}
    # Each stack trace arrived as one record, joined in order.
    traces = [r["log"] for r in err if r["log"].startswith("java.lang")]
    assert len(traces) == 30 and all(t.count("\n\tat ") == 3 for t in traces)
