"""Drive an output the way the engine does: flush, and on a retryable error resend only
``remaining`` after a short jittered pause."""

from __future__ import annotations

import asyncio

from agent.core.errors import DeliveryError, is_retryable
from agent.core.events import Event
from agent.core.plugins import OutputPlugin
from sinks.aws.retry import backoff_delay


async def deliver(
    output: OutputPlugin, tag: str, events: list[Event], attempts: int = 30
) -> list[list[Event]]:
    """Deliver ``events``; return what each retry resent (empty when the first try worked)."""
    resent: list[list[Event]] = []
    pending = events
    for attempt in range(attempts):
        try:
            await output.flush(tag, pending)
            return resent
        except DeliveryError as exc:
            if not is_retryable(exc):
                raise
            pending = exc.remaining if exc.remaining is not None else pending
            resent.append(pending)
            await asyncio.sleep(backoff_delay(attempt, base=0.01, cap=0.2))
    raise AssertionError(f"not delivered after {attempts} attempts")
