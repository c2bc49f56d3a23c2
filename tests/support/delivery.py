"""Drive an output the way the engine does: flush through the core's one retry loop, and on a
retryable error resend only ``remaining`` after a short jittered pause."""

from __future__ import annotations

from logtide.agent.core.errors import DeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import OutputPlugin
from logtide.agent.core.retry import Backoff, Retry

# Short waits: the moto server answers at once; the jitter is what the engine would add.
_FAST = Backoff(base=0.01, cap=0.2)


async def deliver(
    output: OutputPlugin, tag: str, events: list[Event], attempts: int = 30
) -> list[list[Event]]:
    """Deliver ``events``; return what each retry resent (empty when the first try worked)."""
    resent: list[list[Event]] = []
    pending = events

    async def flush() -> None:
        await output.flush(tag, pending)

    def narrow(exc: Exception, _failures: int, _wait: float) -> None:
        nonlocal pending
        if isinstance(exc, DeliveryError) and exc.remaining is not None:
            pending = exc.remaining
        resent.append(pending)

    await Retry(_FAST.delay, limit=attempts - 1).run(flush, on_retry=narrow)
    return resent
