"""The one retry loop: attempts, limit, the one is_retryable, and a retried failure freed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from logtide.agent.core.errors import PermanentDeliveryError, RetryableDeliveryError
from logtide.agent.core.retry import Backoff, Retry


def _failing(*failures: Exception) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []
    pending = list(failures)

    async def call() -> str:
        calls.append(len(calls))
        if pending:
            raise pending.pop(0)
        return "ok"

    return calls, call


def test_backoff_is_jittered_and_capped() -> None:
    rng = random.Random(1)
    delays = [Backoff(base=1.0, cap=5.0).delay(10, rng) for _ in range(100)]
    assert all(0 <= d <= 5.0 for d in delays)
    assert len(set(delays)) > 90


def test_transient_failures_are_retried_with_the_given_waits() -> None:
    calls, call = _failing(RetryableDeliveryError("a"), ConnectionResetError())
    seen: list[tuple[str, int, float]] = []
    retry = Retry(lambda n: 0.001 * (n + 1))
    result = asyncio.run(
        retry.run(call, on_retry=lambda exc, n, wait: seen.append((type(exc).__name__, n, wait)))
    )
    assert result == "ok" and calls == [0, 1, 2]
    assert seen == [("RetryableDeliveryError", 0, 0.001), ("ConnectionResetError", 1, 0.002)]


def test_permanent_failure_and_the_limit_give_up_raising_the_failure() -> None:
    given_up: list[tuple[int, bool]] = []
    _, call = _failing(PermanentDeliveryError("denied"))
    with pytest.raises(PermanentDeliveryError):
        asyncio.run(
            Retry(lambda n: 0.0).run(call, on_give_up=lambda e, n, t: given_up.append((n, t)))
        )
    calls, call = _failing(*[RetryableDeliveryError(str(n)) for n in range(5)])
    with pytest.raises(RetryableDeliveryError, match="2"):
        asyncio.run(
            Retry(lambda n: 0.0, limit=2).run(
                call, on_give_up=lambda e, n, t: given_up.append((n, t))
            )
        )
    assert calls == [0, 1, 2]
    assert given_up == [(0, False), (2, True)]


def test_a_retried_failure_loses_its_traceback_before_the_wait() -> None:
    failure = RetryableDeliveryError("x")
    _, call = _failing(failure)
    assert asyncio.run(Retry(lambda n: 0.0).run(call)) == "ok"
    assert failure.__traceback__ is None


def test_keep_going_stops_before_a_retry() -> None:
    calls, call = _failing(RetryableDeliveryError("x"), RetryableDeliveryError("y"))
    with pytest.raises(RetryableDeliveryError, match="x"):
        asyncio.run(Retry(lambda n: 0.0).run(call, keep_going=lambda: False))
    assert calls == [0]
