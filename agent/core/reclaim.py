"""Give back the memory a failed delivery attempt leaves behind.

The agent runs the cyclic garbage collector rarely (see ``logtide.agent.cli._tune_gc``): records are
acyclic and reference counting frees them. A failed request is different: its exception's
traceback holds the frames of the HTTP stack (aiohttp, botocore), whose locals hold the
exception again, and the request with its serialised body. Each attempt leaves such a cycle
behind, up to a megabyte (PutLogEvents) or a whole object (S3 PutObject); during an outage
the pipeline is stalled, allocates little, and the collector would not run for minutes while
every retry added another body.

Whoever handles a failure it will retry calls :func:`release_failure` with the exception once
it no longer needs it: that cuts the tracebacks out of its chain (which breaks most cycles at
the source, so reference counting frees them) and runs a full collection for what other
libraries' internals still tie up, at most once per :data:`MIN_INTERVAL`. The forward input
calls :func:`collect` as a connection arrives, for the cycles ended ones left (asyncio's
closed transports, a failed connection's exception group and buffers).
"""

from __future__ import annotations

import gc
import time

# A full collection skips what start-up froze and costs a few milliseconds; retries come
# at most a few times a second, so this keeps its cost negligible while no failure's garbage
# outlives the next failure by more than this.
MIN_INTERVAL = 0.5

_last_collection = -MIN_INTERVAL


def forget_tracebacks(exc: BaseException) -> None:
    """Drop the tracebacks of ``exc`` and of every exception it was caused by or raised in."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        pending.append(current.__cause__)
        pending.append(current.__context__)
        # aiohttp keeps the socket error it wraps as an attribute rather than as a cause.
        inner = getattr(current, "os_error", None)
        if isinstance(inner, BaseException):
            pending.append(inner)


def collect(now: float | None = None) -> bool:
    """Run a full collection unless one ran within :data:`MIN_INTERVAL`; True if it ran."""
    global _last_collection
    now = time.monotonic() if now is None else now
    if now - _last_collection < MIN_INTERVAL:
        return False
    _last_collection = now
    gc.collect()
    return True


def release_failure(exc: BaseException) -> None:
    """Free what a handled, to-be-retried failure keeps alive (see the module docstring)."""
    forget_tracebacks(exc)
    collect()
