"""Failure handling shared by the AWS outputs: error codes and the one
immediate retry Fluent Bit calls ``auto_retry_requests``.

Retry *policy* stays with the engine (``logtide.agent.core.errors.is_retryable``, which
``logtide.sinks.aws.errors`` tells the AWS codes); this module only names failures and decides
whether a request may already have taken effect.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from logtide.agent.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    is_retryable,
)
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option
from logtide.agent.core.retry import Retry

T = TypeVar("T")

# The option that switches :func:`call_with_auto_retry` on, for the outputs that honour it.
AUTO_RETRY_OPTION = Option(
    "auto_retry_requests",
    "bool",
    True,
    "Retry a request once, immediately, after a network error.",
)

# Failures where the request certainly never reached the service.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError, ConnectionRefusedError)
# Failures after the request may have been received: the outcome is unknown.
_UNKNOWN = (
    ReadTimeoutError,
    ConnectionClosedError,
    HTTPClientError,
    asyncio.TimeoutError,
    TimeoutError,
)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a client error (``ThrottlingException``), else ``""``."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def is_network_error(exc: BaseException) -> bool:
    """Transport failures (no HTTP answer at all), the kind ``auto_retry_requests`` covers."""
    if isinstance(exc, ClientError):
        return False
    if isinstance(exc, (*_NOT_SENT, *_UNKNOWN)):
        return True
    # A socket error botocore did not wrap (its SSLError is an OSError too).
    return isinstance(exc, OSError)


def outcome_unknown(exc: BaseException) -> bool:
    """True when the service may have applied the request although we saw a failure."""
    if isinstance(exc, (ClientError, *_NOT_SENT)):
        return False
    return is_network_error(exc)


async def call_with_auto_retry(
    call: Callable[[], Awaitable[T]], enabled: bool, *, delay: float = 0.05
) -> T:
    """Run ``call``; on a network-level failure retry it once after a short jittered pause.

    Mirrors Fluent Bit's ``auto_retry_requests`` (one quick retry for transport errors,
    separate from the engine's backoff). API errors (throttling, 5xx) are not retried here.
    """
    if not enabled:
        return await call()
    quick = Retry(lambda _: random.uniform(0, delay), limit=1, retryable=is_network_error)
    return await quick.run(call)


def describe(exc: BaseException) -> str:
    """One line naming a failure: the AWS error code and message (or the HTTP status when
    there is no code), else the exception's type and text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or http_status(exc) or "error"
        message = " ".join(str(error.get("Message") or "").split())
        return f"{code}: {message}" if message else str(code)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def delivery_error(what: str, exc: Exception, remaining: list[Event]) -> DeliveryError:
    """The engine's error for a failed call: retryable or permanent as the one
    :func:`is_retryable` decides, naming ``what`` (output and destination) and the failure,
    and handing back the events still to deliver."""
    message = f"{what}: {describe(exc)}"
    if is_retryable(exc):
        return RetryableDeliveryError(message, remaining=remaining)
    return PermanentDeliveryError(message, remaining=remaining)
