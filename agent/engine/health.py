"""Fluent Bit's health rule for ``/api/v1/health``.

Every second the totals of all outputs' ``errors`` and ``retries_failed`` are sampled; the
samples of the last ``HC_Period`` seconds are kept. The agent is unhealthy while the growth
since the oldest kept sample is greater than ``HC_Errors_Count`` (errors) or greater than
``HC_Retry_Failure_Count`` (retries that ran out). Once the failures age out of the period,
health is "ok" again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Totals:
    errors: int
    retries_failed: int

    @classmethod
    def of(cls, counters: Mapping[str, Mapping[str, int]], outputs: Iterable[str]) -> Totals:
        errors = retries_failed = 0
        for instance in outputs:
            values = counters.get(instance, {})
            errors += values.get("errors", 0)
            retries_failed += values.get("retries_failed", 0)
        return cls(errors, retries_failed)


class HealthCheck:
    """Sliding window over the output failure totals."""

    def __init__(
        self,
        errors_count: int,
        retry_failure_count: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.errors_count = errors_count
        self.retry_failure_count = retry_failure_count
        self.period = period
        self._clock = clock
        self._samples: deque[tuple[float, Totals]] = deque()

    def sample(self, totals: Totals) -> None:
        """Record the totals now; called once a second."""
        now = self._clock()
        self._samples.append((now, totals))
        while self._samples and self._samples[0][0] < now - self.period:
            self._samples.popleft()

    def healthy(self, current: Totals) -> bool:
        if not self._samples:
            return True
        oldest = self._samples[0][1]
        errors = current.errors - oldest.errors
        retries_failed = current.retries_failed - oldest.retries_failed
        return errors <= self.errors_count and retries_failed <= self.retry_failure_count
