"""Retry policy shared by the engine and outputs with retries of their own (S3 uploads):
Fluent Bit's ``Retry_Limit`` values and full-jitter exponential backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass

from agent.core.errors import ConfigError, Location

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
