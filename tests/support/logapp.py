"""A containerised app as the tail input sees it, and a counter for what came out.

:class:`AppWriter` writes docker json-file lines whose ``log`` is one record of the article's
ordering app (``item_id``, ``product_category``, ``price``, ..., ``state``) plus a ``seq``
number and the ``writer`` name, at a steady rate from a thread. It rotates the way kubelet
does (rename ``0.log`` to ``0.log.<timestamp>``, a few more lines still land in the renamed
file before the runtime reopens, keep the newest ``keep_rotated`` generations) or the way
logrotate's ``copytruncate`` does. Every line written is recorded, so :func:`tally` can say
exactly which sequence numbers are lost or duplicated in what the agent delivered.

Readers: :func:`s3_records`, :func:`cloudwatch_records` and :func:`file_records` return the
records delivered to a moto bucket, a moto log group or a ``file`` output folder.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

STATES = ("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
          "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
          "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
          "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY")  # fmt: skip
SHIPPING = ("Free", "3-Day", "2-Day")
CATEGORIES = ("Garden", "Kitchen", "Office", "Household")
REFERRALS = ("Other", "Friend/Colleague", "Repeat Customer", "Online Ad")


def order_record(rng: random.Random, seq: int, writer: str, ca_ratio: float) -> dict[str, Any]:
    """The article's sales record; ``state`` is CA with probability ``ca_ratio`` (the
    article's uniform choice gives 2%, too few S3-bound lines for a short test)."""
    state = "CA" if rng.random() < ca_ratio else rng.choice([s for s in STATES if s != "CA"])
    return {
        "item_id": str(rng.randint(1, 100)),
        "product_category": rng.choice(CATEGORIES),
        "price": str(rng.randint(1, 100)),
        "quantity": str(rng.randint(1, 4)),
        "order_date": f"2020-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "state": state,
        "shipping_type": rng.choice(SHIPPING),
        "referral": rng.choice(REFERRALS),
        "seq": seq,
        "writer": writer,
    }


def docker_line(record: dict[str, Any], when: float) -> bytes:
    """One docker json-file line (``log`` ends with the newline the app printed)."""
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    log = orjson.dumps(record).decode() + "\n"
    return orjson.dumps({"log": log, "stream": "stdout", "time": stamp}) + b"\n"


@dataclass
class Written:
    """What an app wrote: sequence numbers per destination (CA -> s3, others -> cloudwatch)."""

    ca: list[int] = field(default_factory=list)
    other: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ca) + len(self.other)


class AppWriter:
    """Writes ``rate`` lines/s to ``path`` from a thread until :meth:`stop`.

    ``rotate_every`` lines it rotates (``rotation`` is ``"rename"``, ``"copytruncate"`` or
    ``"kubelet"``: a rename that first gzips the generations already rotated, as kubelet
    does at each rotation of a container's log).
    ``pad`` adds a field of that many characters to each record (long lines).
    """

    def __init__(
        self,
        path: Path,
        *,
        rate: float = 200.0,
        seed: int = 1,
        ca_ratio: float = 0.3,
        rotate_every: int | None = None,
        rotation: str = "rename",
        keep_rotated: int = 2,
        late_lines: int = 3,
        pad: int = 0,
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.rate = rate
        self.rng = random.Random(seed)
        self.ca_ratio = ca_ratio
        self.rotate_every = rotate_every
        self.rotation = rotation
        self.keep_rotated = keep_rotated
        self.late_lines = late_lines
        self.pad = "x" * pad
        self.written = Written()
        self.rotations = 0
        self.seq = 0
        self._since_rotation = 0
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # -- writing -------------------------------------------------------------------------
    def write(self, count: int) -> None:
        """Write ``count`` lines now (also usable without the thread)."""
        with self._lock:
            self._write_locked(count, self._fd)

    def _write_locked(self, count: int, fd: int) -> None:
        now = time.time()
        lines = []
        for _ in range(count):
            record = order_record(self.rng, self.seq, self.name, self.ca_ratio)
            if self.pad:
                record["pad"] = self.pad
            bucket = self.written.ca if record["state"] == "CA" else self.written.other
            bucket.append(self.seq)
            self.seq += 1
            lines.append(docker_line(record, now))
        data = b"".join(lines)
        while data:
            data = data[os.write(fd, data) :]
        self._since_rotation += count

    def rotate(self) -> None:
        with self._lock:
            self._rotate_locked()

    def _rotate_locked(self) -> None:
        self.rotations += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        rotated = self.path.with_name(f"{self.name}.{stamp}.{self.rotations:04d}")
        if self.rotation == "copytruncate":
            shutil.copyfile(self.path, rotated)
            os.truncate(self.path, 0)
        else:
            if self.rotation == "kubelet":
                self._compress_rotated()
            os.rename(self.path, rotated)
            # kubelet renames first and asks the runtime to reopen afterwards: the lines
            # written meanwhile still land in the renamed file.
            self._write_locked(self.late_lines, self._fd)
            os.close(self._fd)
            self._fd = self._open()
        self._since_rotation = 0
        generations = sorted(self.path.parent.glob(f"{self.name}.*"))
        for stale in generations[: max(0, len(generations) - self.keep_rotated)]:
            stale.unlink(missing_ok=True)

    def _compress_rotated(self) -> None:
        """kubelet's compression: ``<generation>.tmp`` written, renamed to ``.gz``, the
        generation removed."""
        for generation in self.path.parent.glob(f"{self.name}.*"):
            if generation.suffix in (".gz", ".tmp"):
                continue
            tmp = generation.with_name(generation.name + ".tmp")
            tmp.write_bytes(gzip.compress(generation.read_bytes()))
            os.rename(tmp, generation.with_name(generation.name + ".gz"))
            generation.unlink()

    def truncate(self) -> None:
        """Cut the file to zero in place (content not read yet is gone by design)."""
        with self._lock:
            os.truncate(self.path, 0)

    def _run(self) -> None:
        tick = 0.02
        next_at = time.monotonic()
        carry = 0.0
        while not self._stop.is_set():
            next_at += tick
            if not self._paused.is_set():
                carry += self.rate * tick
                count = int(carry)
                carry -= count
                if count:
                    self.write(count)
                if self.rotate_every and self._since_rotation >= self.rotate_every:
                    self.rotate()
            pause = next_at - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            else:
                next_at = time.monotonic()

    def start(self) -> AppWriter:
        self._thread = threading.Thread(target=self._run, name=f"app-{self.name}", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


# -- reading back ---------------------------------------------------------------------------


def s3_records(client: Any, bucket: str) -> list[dict[str, Any]]:
    """Every JSON line of every object in ``bucket`` (objects listed page by page; gzip
    objects decompressed)."""
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            out.extend(orjson.loads(line) for line in body.splitlines() if line.strip())
    return out


def s3_object_count(client: Any, bucket: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(len(page.get("Contents", [])) for page in pages)


def cloudwatch_records(client: Any, group: str) -> list[dict[str, Any]]:
    """Every event message (parsed as JSON) in every stream of ``group``."""
    out: list[dict[str, Any]] = []
    try:
        pages = client.get_paginator("describe_log_streams").paginate(logGroupName=group)
        streams = [s["logStreamName"] for page in pages for s in page.get("logStreams", [])]
    except client.exceptions.ResourceNotFoundException:
        return out
    for stream in streams:
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if token:
                kwargs["nextToken"] = token
            answer = client.get_log_events(**kwargs)
            out.extend(orjson.loads(e["message"]) for e in answer["events"])
            if answer.get("nextForwardToken") in (None, token) or not answer["events"]:
                break
            token = answer["nextForwardToken"]
    return out


def file_records(folder: Path) -> list[dict[str, Any]]:
    """Records of a ``file`` output in its default ``out_file`` format (``tag: [t, rec]``)
    or as plain JSON lines, from every file in ``folder``."""
    out: list[dict[str, Any]] = []
    for path in sorted(Path(folder).glob("*")):
        if not path.is_file():
            continue
        for line in path.read_bytes().splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith(b"{"):
                out.append(orjson.loads(line))
                continue
            _, _, payload = line.partition(b": ")
            out.append(orjson.loads(payload)[1])
    return out


@dataclass
class Tally:
    """Sequence numbers expected, seen, lost and seen more than once (per writer)."""

    expected: int
    delivered: int
    lost: list[tuple[str, int]]
    duplicated: dict[tuple[str, int], int]
    unexpected: int

    @property
    def duplicates(self) -> int:
        """Extra copies: a line seen three times counts two."""
        return sum(n - 1 for n in self.duplicated.values())

    def summary(self) -> str:
        lost = ", ".join(f"{w}#{s}" for w, s in self.lost[:10])
        return (
            f"expected {self.expected}, delivered {self.delivered}, lost {len(self.lost)}"
            f"{' (' + lost + ' ...)' if lost else ''}, duplicated {self.duplicates}, "
            f"unexpected {self.unexpected}"
        )


def tally(expected: dict[str, Iterable[int]], records: Iterable[dict[str, Any]]) -> Tally:
    """Compare the ``seq`` numbers in ``records`` with what each writer wrote."""
    want = {(writer, seq) for writer, seqs in expected.items() for seq in seqs}
    seen: Counter[tuple[str, int]] = Counter()
    for record in records:
        if "seq" in record and "writer" in record:
            seen[(record["writer"], int(record["seq"]))] += 1
    lost = sorted(want - set(seen))
    duplicated = {key: n for key, n in seen.items() if n > 1}
    unexpected = sum(1 for key in seen if key not in want)
    return Tally(len(want), sum(seen.values()), lost, duplicated, unexpected)


def ca_written(writers: Iterable[AppWriter]) -> dict[str, list[int]]:
    return {w.name: w.written.ca for w in writers}


def other_written(writers: Iterable[AppWriter]) -> dict[str, list[int]]:
    return {w.name: w.written.other for w in writers}


def all_written(writers: Iterable[AppWriter]) -> dict[str, list[int]]:
    return {w.name: w.written.ca + w.written.other for w in writers}
