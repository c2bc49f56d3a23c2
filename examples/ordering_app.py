#!/usr/bin/env python3
"""The article's sample ordering app: fake sales records as JSON lines, same shape and values.

Run as in the article (one record on stdout every 2 seconds)::

    python examples/ordering_app.py

or as a "pod" whose container runtime writes docker json-file logs (what ``logtide demo``
starts several of)::

    python examples/ordering_app.py --docker-log /tmp/pods/x/0.log --rate 50 --duration 10

Importable: :func:`order` makes one record, :func:`write_docker_lines` appends N docker
json-file lines for a pod, :func:`make_pod` lays out a pod's log file the way the kubelet does
(``pods/<ns>_<pod>_<uid>/<container>/0.log`` with a ``containers/<pod>_<ns>_<container>-<id>.log``
symlink). Only the standard library is used, so it can run in the article's Docker image.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys
import time
import zlib
from pathlib import Path

STATES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
    "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
    "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip
SHIPPING_TYPES = ("Free", "3-Day", "2-Day")
PRODUCT_CATEGORIES = ("Garden", "Kitchen", "Office", "Household")
REFERRALS = ("Other", "Friend/Colleague", "Repeat Customer", "Online Ad")


def order(rng: random.Random) -> str:
    """One sales record, as the article's script prints it (every value a string)."""
    item_id = rng.randint(1, 100)
    state = STATES[rng.randint(0, len(STATES) - 1)]
    shipping_type = SHIPPING_TYPES[rng.randint(0, len(SHIPPING_TYPES) - 1)]
    product_category = PRODUCT_CATEGORIES[rng.randint(0, len(PRODUCT_CATEGORIES) - 1)]
    quantity = rng.randint(1, 4)
    referral = REFERRALS[rng.randint(0, len(REFERRALS) - 1)]
    price = rng.randint(1, 100)
    order_date = datetime.date(2020, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    # The article's exact printf, so the bytes match its sample output.
    template = (
        '{"item_id":"%d","product_category":"%s","price":"%d","quantity":"%d",'
        '"order_date":"%s","state":"%s","shipping_type":"%s","referral":"%s"}'
    )
    values = (
        item_id,
        product_category,
        price,
        quantity,
        order_date,
        state,
        shipping_type,
        referral,
    )
    return template % values


def docker_time(seconds: float) -> str:
    """Docker's json-file time: RFC 3339 UTC with nanoseconds."""
    whole = int(seconds)
    nanos = int((seconds - whole) * 1e9)
    stamp = datetime.datetime.fromtimestamp(whole, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def docker_line(message: str, seconds: float) -> str:
    """What the container runtime writes for one line the app printed on stdout."""
    return json.dumps(
        {"log": message + "\n", "stream": "stdout", "time": docker_time(seconds)},
        separators=(",", ":"),
    )


def write_docker_lines(
    path: str | os.PathLike[str],
    count: int,
    rng: random.Random,
    *,
    rate: float | None = None,
    clock: float | None = None,
) -> int:
    """Append ``count`` docker json-file lines of orders to ``path``; returns ``count``.

    ``rate`` (lines per second) paces the writes like a running app; ``clock`` fixes the first
    line's time (then each line is 1 ms later), for generating history.
    """
    batch = max(1, int(rate / 10)) if rate else count
    written = 0
    started = time.monotonic()
    with open(path, "a", encoding="utf-8") as out:
        while written < count:
            lines = []
            for _ in range(min(batch, count - written)):
                now = clock + written * 0.001 if clock is not None else time.time()
                lines.append(docker_line(order(rng), now) + "\n")
                written += 1
            out.write("".join(lines))
            out.flush()
            if rate:
                delay = started + written / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    return written


def make_pod(root: str | os.PathLike[str], pod: str, *, namespace: str = "default") -> Path:
    """Create a pod's (empty) log file under ``root`` as the kubelet lays it out; returns the
    ``containers/`` symlink path, the name the tail input sees."""
    container = "ordering-app"
    uid = f"{zlib.crc32(pod.encode()):08x}-demo"
    container_id = f"{zlib.crc32(pod.encode() + b'c'):08x}" * 8
    pod_dir = Path(root, "pods", f"{namespace}_{pod}_{uid}", container)
    pod_dir.mkdir(parents=True, exist_ok=True)
    log = pod_dir / "0.log"
    log.touch()
    link = Path(root, "containers", f"{pod}_{namespace}_{container}-{container_id}.log")
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(log)
    return link


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-log", help="append docker json-file lines here")
    parser.add_argument("--rate", type=float, default=0.5, help="records per second")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--count", type=int, help="stop after this many records")
    parser.add_argument("--seed", type=int, help="random seed (repeatable output)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    if args.docker_log:
        total = args.count
        if total is None:
            total = int(args.rate * args.duration) if args.duration else sys.maxsize
        write_docker_lines(args.docker_log, total, rng, rate=args.rate)
        return 0
    printed = 0
    deadline = time.monotonic() + args.duration if args.duration else None
    while (args.count is None or printed < args.count) and (
        deadline is None or time.monotonic() < deadline
    ):
        print(order(rng), flush=True)
        printed += 1
        time.sleep(1 / args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
