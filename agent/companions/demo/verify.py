"""The consistency check: what the pods wrote against what S3 and CloudWatch hold.

Records are compared as multisets keyed by the container runtime's ``time`` (nanoseconds)
plus the app's fields, so a repeated order is still counted once per line written; a record
missing is "lost", one more than written "duplicated", a CA record outside S3 (or a non-CA one
outside CloudWatch) "misrouted".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from logtide.agent.companions.athena.objects import S3Source, decompress, json_lines, kind_of

APP_FIELDS = (
    "item_id",
    "product_category",
    "price",
    "quantity",
    "order_date",
    "state",
    "shipping_type",
    "referral",
)
Identity = tuple[str, ...]


def identity(record: dict[str, Any]) -> Identity:
    return (str(record.get("time")), *(str(record.get(f)) for f in APP_FIELDS))


def written_records(logs: Iterable[Path]) -> list[dict[str, Any]]:
    """The app's records from the pods' docker json-file logs, with the runtime's time."""
    records = []
    for path in logs:
        for line in path.read_bytes().splitlines():
            if not line.strip():
                continue
            docker = orjson.loads(line)
            record = orjson.loads(docker["log"])
            record["stream"] = docker["stream"]
            record["time"] = docker["time"]
            records.append(record)
    return records


def s3_records(source: S3Source, prefix: str) -> tuple[list[dict[str, Any]], int]:
    """Every record in the bucket under ``prefix``, and the number of objects."""
    records: list[dict[str, Any]] = []
    objects = source.list(prefix)
    for stored in objects:
        data = source.read(stored.key)
        text = decompress(data, kind_of(data), source.describe(stored.key))
        records.extend(value for _, value in json_lines(text) if isinstance(value, dict))
    return records, len(objects)


def cloudwatch_records(client: Any, group: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    try:
        pages = client.get_paginator("filter_log_events").paginate(logGroupName=group)
        for page in pages:
            records.extend(orjson.loads(event["message"]) for event in page.get("events", []))
    except client.exceptions.ResourceNotFoundException:
        return []
    return records


@dataclass(frozen=True, slots=True)
class Verdict:
    written: int
    in_s3: int
    in_cloudwatch: int
    lost: int
    duplicated: int
    misrouted: int

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.misrouted)

    def summary(self) -> str:
        return (
            f"the app wrote {self.written} records: {self.in_s3} (state = 'CA') in S3, "
            f"{self.in_cloudwatch} (state <> 'CA') in CloudWatch Logs -> {self.lost} lost, "
            f"{self.duplicated} duplicated, {self.misrouted} misrouted"
        )


def compare(
    written: list[dict[str, Any]],
    in_s3: list[dict[str, Any]],
    in_cloudwatch: list[dict[str, Any]],
) -> Verdict:
    expected = Counter(identity(r) for r in written)
    shipped = Counter(identity(r) for r in in_s3) + Counter(identity(r) for r in in_cloudwatch)
    misrouted = sum(1 for r in in_s3 if r.get("state") != "CA") + sum(
        1 for r in in_cloudwatch if r.get("state") == "CA"
    )
    return Verdict(
        written=len(written),
        in_s3=len(in_s3),
        in_cloudwatch=len(in_cloudwatch),
        lost=sum((expected - shipped).values()),
        duplicated=sum((shipped - expected).values()),
        misrouted=misrouted,
    )
