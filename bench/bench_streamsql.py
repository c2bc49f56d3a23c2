"""The article's two stream tasks over N records: evaluations per second per task.

    python bench/bench_streamsql.py [--records N]

Records look like the article's orders (a third of them in CA); each task sees every record
in chunks of 1,000, the way the engine hands them over. The target is >= 1,000,000 record
evaluations per second per task on one core.
"""

from __future__ import annotations

import argparse
import random
import time

from logtide.agent.core.errors import Location
from logtide.agent.core.events import Ack, Chunk
from logtide.streamsql import StreamProcessor, StreamTask

TASKS = {
    "state_filter": "CREATE STREAM CA_SALES WITH (tag='states.ca') AS "
    "SELECT * FROM TAG:'order*' WHERE state = 'CA';",
    "state_filter_notca": "CREATE STREAM NOTCA_SALES WITH (tag='states.notca') AS "
    "SELECT * FROM TAG:'order*' WHERE state <> 'CA';",
}
STATES = ["CA", "CA", "NY", "TX", "AL", "WA"]


def make_chunks(count: int, size: int = 1000) -> list[list[tuple[float, dict[str, object]]]]:
    rng = random.Random(7)
    now = time.time()
    events = [
        (
            now + i / 1000,
            {
                "item_id": str(i),
                "product_category": rng.choice(["Office", "Garden", "Kitchen"]),
                "price": str(rng.randint(1, 99)),
                "quantity": str(rng.randint(1, 5)),
                "order_date": "2020-10-11",
                "state": rng.choice(STATES),
                "shipping_type": "3-Day",
                "referral": "Repeat Customer",
            },
        )
        for i in range(count)
    ]
    return [events[i : i + size] for i in range(0, count, size)]


def bench(name: str, sql: str, chunks: list[list[tuple[float, dict[str, object]]]]) -> None:
    processor = StreamProcessor([StreamTask(name, sql, Location("bench", 0))])
    total = sum(len(chunk) for chunk in chunks)
    emitted = 0
    started = time.perf_counter()
    for events in chunks:
        ack = Ack()
        for derived in processor.process(Chunk("orders.app", events, ack, "tail.0")):
            emitted += len(derived.events)
            derived.ack.settle(True)
        ack.settle(True)
    elapsed = time.perf_counter() - started
    print(
        f"{name:<20} {total:>9,} records  {emitted:>9,} emitted  "
        f"{elapsed:6.3f}s  {total / elapsed:>12,.0f} evaluations/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    chunks = make_chunks(args.records)
    for name, sql in TASKS.items():
        bench(name, sql, chunks)


if __name__ == "__main__":
    main()
