"""Upload retries: ``Retry_Limit`` parsing, jittered backoff, and one-line failure messages.

S3 uploads happen in the output's own background task (records are already durable in
store_dir when flush returns), so the engine's retry loop never sees them; this module applies
the same policy to uploads; failures are classified by ``agent.core.errors.is_retryable``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

_UNLIMITED = frozenset({"no_limits", "false", "off", "unlimited"})


def parse_retry_limit(raw: Any) -> int | None:
    """``None`` = retry transient failures forever; ``no_retries`` = 0."""
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
        raise ValueError(
            f"Retry_Limit must be a number, no_limits, False or no_retries, got {raw!r}"
        ) from None
    if value < 0:
        raise ValueError(f"Retry_Limit must not be negative, got {value}")
    return value


@dataclass(slots=True)
class Backoff:
    """Full jitter: the n-th wait is uniform in [base, min(cap, base * 2**n)]."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        upper = min(self.cap, self.base * (2 ** min(attempt, 32)))
        return random.uniform(min(self.base, upper), upper)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe(exc: BaseException) -> str:
    """One line naming the failure: the AWS error code and message, or the exception."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or status or "error"
        message = str(error.get("Message") or "").strip()
        return f"{code}: {message}" if message else str(code)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
