"""Figures of a fault run, appended as JSON lines to ``$LOGTIDE_FAULTS_REPORT`` when set
(docs/reliability.md quotes them); always printed, so ``pytest -s`` shows them too."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from tests.support.logapp import Tally


def record(case: str, **figures: Any) -> None:
    entry = {"case": case, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}
    print(f"\n[faults] {orjson.dumps(entry).decode()}")
    target = os.environ.get("LOGTIDE_FAULTS_REPORT")
    if target:
        with open(target, "ab") as handle:
            handle.write(orjson.dumps(entry) + b"\n")


def resent_ranges(written: dict[str, list[int]], duplicated: set[tuple[str, int]]) -> int:
    """Contiguous runs (in each writer's order) of duplicated sequence numbers."""
    runs = 0
    for writer, seqs in written.items():
        inside = False
        for seq in seqs:
            hit = (writer, seq) in duplicated
            runs += hit and not inside
            inside = hit
    return runs


def tallies(s3: Tally, cw: Tally) -> dict[str, int]:
    """The S3 and CloudWatch figures of a case: lines expected, lost and repeated."""
    return {
        "s3_expected": s3.expected,
        "s3_lost": len(s3.lost),
        "s3_duplicated": s3.duplicates,
        "cw_expected": cw.expected,
        "cw_lost": len(cw.lost),
        "cw_duplicated": cw.duplicates,
    }
