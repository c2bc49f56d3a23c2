"""One log line per episode of a repeated failure, not one per attempt."""

from __future__ import annotations

import logging


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
