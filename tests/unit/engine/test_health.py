"""Fluent Bit's health rule: failures within the last HC_Period beyond the limits."""

from __future__ import annotations

from logtide.agent.engine.health import HealthCheck, Totals


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(check: HealthCheck, clock: Clock, totals: Totals, seconds: int) -> None:
    for _ in range(seconds):
        clock.now += 1
        check.sample(totals)


def test_errors_beyond_the_limit_fail_until_they_age_out_of_the_period() -> None:
    clock = Clock()
    check = HealthCheck(errors_count=2, retry_failure_count=5, period=10, clock=clock)
    check.sample(Totals(0, 0))
    assert check.healthy(Totals(2, 0))  # equal to the limit is still ok
    assert not check.healthy(Totals(3, 0))
    run(check, clock, Totals(3, 0), 5)
    assert not check.healthy(Totals(3, 0))
    run(check, clock, Totals(3, 0), 6)
    assert check.healthy(Totals(3, 0))


def test_retry_failures_have_their_own_limit() -> None:
    clock = Clock()
    check = HealthCheck(errors_count=100, retry_failure_count=1, period=5, clock=clock)
    check.sample(Totals(0, 0))
    assert check.healthy(Totals(50, 1))
    assert not check.healthy(Totals(50, 2))


def test_totals_sum_only_the_named_outputs() -> None:
    counters = {
        "s3.0": {"errors": 2, "retries_failed": 1},
        "null.0": {"errors": 3},
        "grep.0": {"errors": 40},
    }
    assert Totals.of(counters, ["s3.0", "null.0", "missing.0"]) == Totals(5, 1)


def test_no_samples_yet_is_healthy() -> None:
    assert HealthCheck(0, 0, 60).healthy(Totals(10, 10))
