"""The reference loop of issue 10: the article pipeline's core work, and nothing else.

One tight loop with orjson over docker json-file lines: split, parse the line, parse its
``log``, merge, route by ``state = 'CA'``, serialise, write. No checkpoint, no
acknowledgement, no engine. ``bench/run.py`` runs it as scenario ``ref`` beside the real
agent, so each benchmark session shows how fast this shared machine was at the time
(the issue measured this loop at ~150,000 records/s on one core).

Usage: ``python bench/reference.py <docker log> <output folder>``; prints the record count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

BLOCK = 256 * 1024


def run(log: Path, out: Path) -> int:
    loads, dumps = orjson.loads, orjson.dumps
    count = 0
    tail = b""
    with (
        log.open("rb") as source,
        (out / "ca.log").open("wb") as ca_file,
        (out / "notca.log").open("wb") as other_file,
    ):
        while block := source.read(BLOCK):
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            ca: list[bytes] = []
            other: list[bytes] = []
            for line in lines:
                outer = loads(line)
                record = loads(outer["log"])
                record["stream"] = outer["stream"]
                record["time"] = outer["time"]
                (ca if record.get("state") == "CA" else other).append(dumps(record) + b"\n")
            ca_file.write(b"".join(ca))
            other_file.write(b"".join(other))
            count += len(lines)
    return count


if __name__ == "__main__":
    print(run(Path(sys.argv[1]), Path(sys.argv[2])))
