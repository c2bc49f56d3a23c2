"""One log line per episode of a repeated failure, not one per attempt."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class FailureNotice:
    """Says when something retried on a timer starts failing or fails differently, and when
    it works again: a DB locked for a minute and retried every second is two lines."""

    def __init__(self, logger: logging.Logger, what: str, consequence: str) -> None:
        self._logger = logger
        self._what = what
        self._consequence = consequence
        self._error: str | None = None

    def failed(self, error: BaseException, retry_s: float) -> None:
        message = str(error)
        if message != self._error:
            self._error = message
            self._logger.warning(
                "%s failed: %s; retrying every %gs (%s)",
                self._what,
                message,
                retry_s,
                self._consequence,
            )

    def succeeded(self) -> None:
        if self._error is not None:
            self._error = None
            self._logger.warning("%s works again", self._what)


async def retried(
    attempt: Callable[[], Awaitable[T]],
    retryable: Callable[[Exception], bool],
    notice: FailureNotice,
    interval: float,
) -> T:
    """``attempt()``, awaited again every ``interval`` seconds while it raises an exception
    ``retryable`` accepts (said through ``notice``); any other exception propagates."""
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            notice.failed(exc, interval)
            await asyncio.sleep(interval)
            continue
        notice.succeeded()
        return result
