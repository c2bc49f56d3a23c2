"""The one retry loop, and the policy pieces it is given: Fluent Bit's ``Retry_Limit``
values and full-jitter exponential backoff.

The engine's delivery of a batch, an output's own retries (S3 uploads, CloudWatch's
recovery after a restart, the AWS clients' one quick retry of a network error) and the
disk queue's writes all go through :meth:`Retry.run`: it counts the attempts, asks
``is_retryable`` (or the caller's narrower test) whether a failure is transient, stops at the
limit, and frees what a failed attempt ties up (``logtide.agent.core.reclaim``) before it waits.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from logtide.agent.core.errors import ConfigError, Location, is_retryable
from logtide.agent.core.reclaim import collect, forget_tracebacks

T = TypeVar("T")
# (failure, failures before it, the wait before the next attempt)
OnRetry = Callable[[Exception, int, float], None]
# (failure, failures before it, True when the limit was reached rather than the failure
# permanent)
OnGiveUp = Callable[[Exception, int, bool], None]

_UNLIMITED = {"no_limits", "false", "off", "unlimited"}


def parse_retry_limit(raw: str | int | None, location: Location | None = None) -> int | None:
    """``None`` means retry transient failures forever; ``no_retries`` means 0."""
    if raw is None:
        return None
    text = str(raw).strip().lower()
    if text in _UNLIMITED:
        return None
    if text == "no_retries":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(
            f"Retry_Limit must be a number, no_limits, False or no_retries, got {raw!r}", location
        ) from None
    if value < 0:
        raise ConfigError(f"Retry_Limit must not be negative, got {value}", location)
    return value


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full jitter: the n-th wait is uniform in [base, min(cap, base * 2**n)]."""

    base: float = 5.0
    cap: float = 2000.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        upper = min(self.cap, self.base * (2 ** min(attempt, 32)))
        low = min(self.base, upper)
        return (rng or random).uniform(low, upper)


@dataclass(frozen=True, slots=True)
class Retry:
    """How one caller retries: ``delay(n)`` is the wait after the n-th failure (from 0),
    ``limit`` the retries allowed after the first attempt (None: no limit), ``retryable``
    the test of a transient failure (the core's one :func:`is_retryable` unless the caller
    retries a narrower kind, such as network errors only)."""

    delay: Callable[[int], float]
    limit: int | None = None
    retryable: Callable[[Exception], bool] = is_retryable

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        on_retry: OnRetry | None = None,
        on_give_up: OnGiveUp | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> T:
        """``call()`` until it returns. A failure that is not retryable, or past the limit,
        is reported to ``on_give_up`` and raised as it is (traceback and all, for its
        handler); so is one after which ``keep_going()`` says stop (a shutdown), unreported.
        Otherwise ``on_retry`` hears of it, its tracebacks are dropped and the cycles they
        held collected, and the next attempt follows the wait."""
        failures = 0
        while True:
            try:
                return await call()
            except Exception as exc:
                transient = self.retryable(exc)
                if not transient or (self.limit is not None and failures >= self.limit):
                    if on_give_up is not None:
                        on_give_up(exc, failures, transient)
                    raise
                if keep_going is not None and not keep_going():
                    raise
                wait = self.delay(failures)
                if on_retry is not None:
                    on_retry(exc, failures, wait)
                forget_tracebacks(exc)
            failures += 1
            # Out of the except block the failure is unreachable: what it tied up in cycles
            # (a request and its body) goes now, not when the collector next runs.
            collect()
            await asyncio.sleep(wait)
