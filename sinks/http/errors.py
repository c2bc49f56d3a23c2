"""Which HTTP delivery failures are worth retrying, told to the core's one
:func:`~logtide.agent.core.errors.is_retryable`.

The transport raises :class:`HttpError` for every failed request: ``status`` is the answer's
HTTP status, or ``None`` when no answer came (refused or reset connection, timeout, TLS
handshake failure). No answer, a 5xx, 429 (too many requests) and 408 (request timeout) are
transient, as in Fluent Bit's HTTP outputs. So are 401, 403 and 407: an authentication
problem is the receiver's or the config's state, not the batch's (a rotated password, a
token not yet granted), and once fixed the same batch is accepted, so it is retried with
backoff instead of dropped (Fluent Bit drops it). Any other 4xx (400 bad request, 404, 413
too large, 422) fails again the same way for the same batch and is permanent; anything else
that is not a success (1xx, 3xx, an unexpected 2xx) is retried, as Fluent Bit does.
Importing ``logtide.sinks.http`` registers :func:`classify`.
"""

from __future__ import annotations

from typing import Any

from logtide.agent.core.errors import DeliveryError, add_classifier

_TRANSIENT_4XX = frozenset({401, 403, 407, 408, 429})


class HttpError(DeliveryError):
    """A request that was not accepted. ``status`` is ``None`` when no answer came;
    ``body`` is the answer's payload (empty without one)."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: bytes = b"",
        remaining: list[Any] | None = None,
    ) -> None:
        super().__init__(message, remaining)
        self.status = status
        self.body = body


def status_is_retryable(status: int | None) -> bool:
    """The rule above for one status (``None``: no answer)."""
    if status is None or status >= 500 or status in _TRANSIENT_4XX:
        return True
    return not 400 <= status < 500


def classify(exc: BaseException) -> bool | None:
    """True/False for an :class:`HttpError`, else None (not an HTTP answer)."""
    if isinstance(exc, HttpError):
        return status_is_retryable(exc.status)
    return None


add_classifier(classify)
