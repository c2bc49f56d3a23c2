"""Per-plugin-instance counters, named as Fluent Bit names them in /api/v1/metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from threading import Lock

Labels = tuple[tuple[str, str], ...]
# A probe's readings: (gauge name, labels, value).
Readings = Iterable[tuple[str, Labels, float]]


class Metrics:
    """Monotonic counters keyed by (instance, counter name), and gauges (current levels).

    Counters are plain integers bumped from the event loop; the lock only guards readers in
    other threads (the HTTP server, ``Pipeline.run_in_thread``).
    """

    def __init__(self) -> None:
        self._counters: dict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._gauges: dict[tuple[str, str, Labels], float] = {}
        self._probes: dict[str, Callable[[], Readings]] = {}
        self._lock = Lock()

    def add(self, instance: str, counter: str, value: int = 1) -> None:
        self._counters[instance][counter] += value

    def get(self, instance: str, counter: str) -> int:
        counters = self._counters.get(instance)
        return counters.get(counter, 0) if counters is not None else 0

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {name: dict(values) for name, values in self._counters.items()}

    def set(self, instance: str, gauge: str, value: float, labels: Labels = ()) -> None:
        """Set a gauge: a current level such as bytes buffered or uploads in flight.

        ``labels`` narrows it further (``(("file", path),)``); call :meth:`unset` when the
        thing it measures is gone so the gauge stops being reported.
        """
        self._gauges[(instance, gauge, labels)] = value

    def unset(self, instance: str, gauge: str, labels: Labels = ()) -> None:
        self._gauges.pop((instance, gauge, labels), None)

    def probe(self, instance: str, read: Callable[[], Readings]) -> None:
        """Gauges of ``instance`` worked out when they are read, for levels that move with
        every chunk (a file's unacknowledged bytes): cheaper on a scrape than on each move.
        ``read`` may run in a reader's thread: it must only copy and read plain values."""
        self._probes[instance] = read

    def gauges(self) -> dict[tuple[str, str, Labels], float]:
        with self._lock:
            gauges = dict(self._gauges)
        for instance, read in list(self._probes.items()):
            for gauge, labels, value in read():
                gauges[(instance, gauge, labels)] = value
        return gauges
