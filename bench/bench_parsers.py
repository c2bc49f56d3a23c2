"""Docker-line parsing + parser filter throughput (records/s on one core). Not a test.

    .venv/bin/python bench/bench_parsers.py [lines]

Each line is a docker json-file line holding the article's app JSON; it goes through the
built-in ``docker`` parser (JSON, time resolved), then the ``parser`` filter (json,
Key_Name log, Reserve_Data On), in chunks as the tail input would hand them over.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson

from logtide.agent.core.errors import Location
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.options import Entry, resolve
from logtide.agent.core.plugins import PluginContext
from logtide.agent.filters.parser import ParserFilter
from logtide.agent.parsers.registry import ParserRegistry

CHUNK = 2048


def make_lines(count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        app = {
            "item_id": str(i % 100),
            "product_category": "Household",
            "price": str(i % 97),
            "quantity": str(i % 5),
            "order_date": "2020-03-26",
            "state": "CA",
            "shipping_type": "3-Day",
            "referral": "Friend/Colleague",
        }
        micros = i * 1371
        stamp = f"2026-11-27T00:{micros // 60_000_000 % 60:02d}:{micros // 1_000_000 % 60:02d}"
        line = {
            "log": orjson.dumps(app).decode() + "\n",
            "stream": "stdout",
            "time": f"{stamp}.{micros % 1_000_000:06d}Z",
        }
        lines.append(orjson.dumps(line))
    return lines


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    registry = ParserRegistry.builtin()
    docker = registry.get("docker")
    location = Location("bench", 0)
    entries = [
        Entry(k, v, location)
        for k, v in (
            ("Name", "parser"),
            ("Key_Name", "log"),
            ("Parser", "json"),
            ("Reserve_Data", "On"),
        )
    ]
    settings = resolve("filter 'parser'", ParserFilter.options, entries, location)
    context = PluginContext(
        instance="parser.0",
        spawn=lambda coro, name: None,
        metrics=Metrics(),
        logger=logging.getLogger("bench"),
        parsers=registry,
    )
    filt = ParserFilter(settings, context)
    lines = make_lines(count)
    now = time.time()
    start = time.process_time()
    produced = 0
    for offset in range(0, count, CHUNK):
        events = []
        for line in lines[offset : offset + CHUNK]:
            result = docker.parse(line)
            if result is None:
                events.append((now, {"log": line.decode("utf-8", "replace")}))
            else:
                events.append((result[0] or now, result[1]))
        produced += len(filt("kube.var.log", events))
    elapsed = time.process_time() - start
    print(f"{produced} records in {elapsed:.2f} CPU s: {produced / elapsed:,.0f} records/s")


if __name__ == "__main__":
    main()
