"""A failed send as a delivery error: what the peer did wrong is worth retrying; what the
data did wrong is not.

The core's one ``is_retryable`` decides for the network's failures (refused, reset, timed
out: retryable). A TLS failure (a certificate that does not verify) and a
:class:`ProtocolError` (the receiver's answers: a wrong ack, a refused handshake) are not
our data's fault either, so they are retried too: the receiver or its certificate may be
fixed, and ``Retry_Limit`` bounds it. Only failures to encode the records are permanent.
"""

from __future__ import annotations

import ssl

from logtide.agent.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    is_retryable,
)
from logtide.agent.core.events import Event
from logtide.agent.core.forward.codec import ProtocolError


def describe(exc: BaseException) -> str:
    """One line naming a failure; the system's words for an errno, ours otherwise."""
    if isinstance(exc, OSError) and exc.strerror:
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            return "connection reset by the receiver"
        return exc.strerror
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def delivery_error(where: str, exc: BaseException, remaining: list[Event]) -> DeliveryError:
    """``exc`` as the error the engine retries (or not), resending only ``remaining``."""
    message = f"forward {where}: {describe(exc)}"
    if isinstance(exc, ProtocolError | ssl.SSLError) or is_retryable(exc):
        return RetryableDeliveryError(message, remaining=remaining)
    return PermanentDeliveryError(message, remaining=remaining)
