"""Parser throughput (records/s on one core). Not a test.

    .venv/bin/python bench/bench_parsers.py [lines]

1. Each line is a docker json-file line holding the article's app JSON; it goes through the
   stock ``docker`` parser (JSON, time resolved), then the ``parser`` filter (stock
   ``json``, Key_Name log, Reserve_Data On), in chunks as the tail input would hand them over.
2. The stock parsers with the heaviest regexes (``nginx``, ``apache2``, ``syslog-rfc5424``,
   ``envoy``), each on lines of its format (time resolved), ``Parser.parse`` per line.
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


# One line template per stock parser; {i} varies the values so no cache sees repeats.
STOCK_LINES = {
    "nginx": (
        '10.0.{a}.{b} - - [11/Apr/2023:17:{m:02d}:{s:02d} -0500] "GET /api/orders?id={i} HTTP/1.1" '
        '200 {i} "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"'
    ),
    "apache2": (
        '203.0.{a}.{b} - frank [25/Jun/2023:19:{m:02d}:{s:02d} -0500] "POST /static/app.js '
        'HTTP/1.0" 404 {i} "-" "curl/8.4.0"'
    ),
    "syslog-rfc5424": (
        "<47>1 2023-03-02T02:{m:02d}:{s:02d}.{i:03d}Z web-1 evntslog - TCPIN "
        '[exampleSDID@32473 iut="3" eventSource="Application"] index worker payment {i}'
    ),
    "envoy": (
        '[2023-05-15T14:{m:02d}:{s:02d}.{i:03d}Z] "GET /api/v2/users/{i}/avatar.png HTTP/1.1" '
        '200 - 753 82869 414 12 "192.118.{a}.{b}" "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0" '
        '"2703fc3f-ca3c-e8d4-363e-933eb88d705a" "api:8080" "10.0.0.5:80"'
    ),
}


def bench_stock(registry: ParserRegistry, count: int) -> None:
    for name, template in STOCK_LINES.items():
        parser = registry.get(name)
        lines = [
            template.format(i=i % 1000, a=i % 250, b=i % 199, m=i // 60 % 60, s=i % 60)
            for i in range(count)
        ]
        start = time.process_time()
        parsed = sum(1 for line in lines if parser.parse(line) is not None)
        elapsed = time.process_time() - start
        assert parsed == count, f"{name}: {count - parsed} lines did not parse"
        print(f"{name:>15}: {parsed} lines in {elapsed:.2f} CPU s: {parsed / elapsed:,.0f} lines/s")


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
    print(
        f"docker + parser filter (json): {produced} records in {elapsed:.2f} CPU s: "
        f"{produced / elapsed:,.0f} records/s"
    )
    bench_stock(registry, min(count, 200_000))


if __name__ == "__main__":
    main()
