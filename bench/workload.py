"""What the benchmark feeds logtide: the article's ordering-app logs and its configs.

Logs: the sample app of the article (uniform choice over 50 states, so about 2% of the
records are CA), written as kubelet leaves them — docker json-file lines (~260 bytes), or
containerd/CRI lines (``<time> stdout F <json>``). Configs: the article's ConfigMap with only
its paths, and the outputs where a scenario needs other ones, changed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson

STATES = ("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
          "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
          "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
          "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY")  # fmt: skip
SHIPPING = ("Free", "3-Day", "2-Day")
CATEGORIES = ("Garden", "Kitchen", "Office", "Household")
REFERRALS = ("Other", "Friend/Colleague", "Repeat Customer", "Online Ad")


def app_lines(seed: int = 7) -> Iterator[str]:
    """The ordering app's stdout, one JSON record per line (no newline)."""
    rng = random.Random(seed)
    pick = rng.choice
    while True:
        yield (
            f'{{"item_id":"{rng.randint(1, 100)}","product_category":"{pick(CATEGORIES)}",'
            f'"price":"{rng.randint(1, 100)}","quantity":"{rng.randint(1, 4)}",'
            f'"order_date":"2020-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",'
            f'"state":"{pick(STATES)}","shipping_type":"{pick(SHIPPING)}",'
            f'"referral":"{pick(REFERRALS)}"}}'
        )


def _stamp(n: int) -> str:
    return f"2026-11-27T{n // 3_600_000 % 24:02d}:{n // 60_000 % 60:02d}:{n // 1000 % 60:02d}"


def docker_line(log: str, n: int) -> bytes:
    stamp = f"{_stamp(n)}.{n % 1000:03d}{n % 997:06d}Z"
    return orjson.dumps({"log": log + "\n", "stream": "stdout", "time": stamp}) + b"\n"


def cri_line(log: str, n: int) -> bytes:
    return f"{_stamp(n)}.{n % 1000:03d}{n % 997:06d}Z stdout F {log}\n".encode()


def write_logs(path: Path, lines: int, fmt: str, seed: int = 7) -> int:
    """``lines`` app records in ``fmt`` ("docker" or "cri"); returns the bytes written."""
    render = docker_line if fmt == "docker" else cri_line
    source = app_lines(seed)
    written = 0
    with path.open("wb") as fh:
        for first in range(0, lines, 10_000):
            data = b"".join(
                render(next(source), n) for n in range(first, min(lines, first + 10_000))
            )
            fh.write(data)
            written += len(data)
    return written


PARSERS = """\
[PARSER]
    Name   dummy
    Format json
[PARSER]
    Name   docker
    Format json
"""

STREAMS = """\
[STREAM_TASK]
    Name    state_filter
    Exec    CREATE STREAM CA_SALES WITH (tag='states.ca') AS SELECT * FROM TAG:'order*' WHERE state = 'CA';
[STREAM_TASK]
    Name    state_filter_notca
    Exec    CREATE STREAM NOTCA_SALES WITH (tag='states.notca') AS SELECT * FROM TAG:'order*' WHERE state <> 'CA';
"""  # noqa: E501

# The article's [SERVICE] and [INPUT] with our paths. HTTP_Server stays off so parallel runs
# do not fight over port 2020; Read_from_Head On because the files exist before we start.
SERVICE_INPUT = """\
[SERVICE]
    Flush         1
    Log_Level     warn
    Parsers_File  parsers.conf
    Streams_File  streams.conf
[INPUT]
    Name              tail
    Tag               order
    Path              {logs}/*.log
{reader}
    DB                {state}/flb_kube.db
    Mem_Buf_Limit     256MB
    DB.locking true
    Rotate_Wait 30
    Skip_Long_Lines   On
    Refresh_Interval  10
    Read_from_Head    On
"""

PARSER_FILTER = """\
[FILTER]
    Name parser
    Match order
    Parser dummy
    Key_Name log
    Reserve_Data True
"""

READERS = {
    "docker": "    Parser            docker\n    Docker_Mode On\n    Docker_Mode_Flush 10",
    "cri": "    multiline.parser  cri",
}

FILE_OUTPUTS = """\
[OUTPUT]
    Name   file
    Match  states.ca
    Path   {out}
    File   ca.log
    Format plain
[OUTPUT]
    Name   file
    Match  states.notca
    Path   {out}
    File   notca.log
    Format plain
"""

AWS_OUTPUTS = """\
[OUTPUT]
    Name s3
    Match states.ca
    bucket {bucket}
    region {region}
    endpoint {endpoint}
    store_dir {state}/s3
    total_file_size 30M
    upload_timeout 3m
[OUTPUT]
    Name cloudwatch_logs
    Match states.notca
    region {region}
    endpoint {endpoint}
    log_group_name fluent-bit-cloudwatch-demo
    log_stream_prefix from-fluent-bit-
    auto_create_group On
"""

TAIL_ONLY = """\
[SERVICE]
    Flush         1
    Log_Level     warn
    Parsers_File  parsers.conf
[INPUT]
    Name              tail
    Tag               order
    Path              {logs}/*.log
{reader}
    DB                {state}/flb_kube.db
    Mem_Buf_Limit     256MB
    Skip_Long_Lines   On
    Read_from_Head    On
"""

NULL_OUTPUT = """\
[OUTPUT]
    Name   null
    Match  *
"""

# A trivial Lua callback returning {code} (0: record kept as is; 1: record and time replaced)
LUA_FILTER = """
[FILTER]
    Name    lua
    Match   *
    call    cb
    code    function cb(tag, ts, record) return {code}, ts, record end
"""


# Every record re-tagged and re-emitted once (KEEP false)
REWRITE_TAG = """\
[FILTER]
    Name   rewrite_tag
    Match  order
    Rule   $stream ^(std\\w+)$ rt.$1.$TAG false
"""


# Java stack traces joined on single-line logs (the usual case: nothing to join)
MULTILINE_FILTER = """\
[FILTER]
    Name                   multiline
    Match                  *
    multiline.key_content  log
    multiline.parser       java
"""

# every field and two instance tags: the most the aws filter adds to a record
AWS_FILTER = """\
[FILTER]
    Name               aws
    Match              *
    imds_endpoint      {imds}
    ec2_instance_type  On
    private_ip         On
    vpc_id             On
    ami_id             On
    account_id         On
    hostname           On
    tags_enabled       On
"""


def write_config(root: Path, kind: str, fmt: str, **values: str) -> Path:
    """``root/fluent-bit.conf`` (+ parsers.conf, streams.conf) for a scenario.

    kind: "file" (article -> file outputs), "aws" (article -> S3 + CloudWatch Logs),
    "null" (tail -> null, no parsing filter, no stream tasks), "parse-null" (tail + the
    article's parser filter -> null: issue 3's benchmark) or "aws-filter" (tail + the aws
    filter asking the IMDS at ``imds`` -> null) or "multiline-null" (tail + the multiline
    filter, java, -> null).
    """
    fields = {"logs": str(root / "logs"), "state": str(root / "state"), "out": str(root / "out")}
    fields.update(values, reader=READERS[fmt])
    if kind == "null":
        text = TAIL_ONLY.format(**fields) + NULL_OUTPUT
    elif kind == "parse-null":
        text = TAIL_ONLY.format(**fields) + PARSER_FILTER + NULL_OUTPUT
    elif kind == "multiline-null":
        text = TAIL_ONLY.format(**fields) + MULTILINE_FILTER + NULL_OUTPUT
    elif kind == "aws-filter":
        text = TAIL_ONLY.format(**fields) + AWS_FILTER.format(**fields) + NULL_OUTPUT
    else:
        outputs = FILE_OUTPUTS if kind == "file" else AWS_OUTPUTS
        text = SERVICE_INPUT.format(**fields) + PARSER_FILTER + outputs.format(**fields)
    (root / "parsers.conf").write_text(PARSERS)
    (root / "streams.conf").write_text(STREAMS)
    conf = root / "fluent-bit.conf"
    conf.write_text(text)
    for folder in ("logs", "state", "out"):
        (root / folder).mkdir(exist_ok=True)
    return conf
