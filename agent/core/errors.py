"""logtide's one exception tree.

Every error logtide raises on purpose derives from :class:`LogtideError`::

    LogtideError
    ├── ConfigError            a config file or flag is wrong; carries file:line
    │   └── QueryError         a stream-processor statement does not parse or plan
    ├── PluginError            a plugin failed to build or start (bad endpoint, unreadable DB)
    └── DeliveryError          an output could not deliver a batch
        ├── RetryableDeliveryError   transient: throttling, 5xx, timeouts, resets
        └── PermanentDeliveryError   will fail again: access denied, no such bucket

Outputs never decide retry policy inline: they raise one of the two delivery errors (or let a
client exception escape) and the engine asks :func:`is_retryable` once per failure. A
service's own error codes are not the core's to know: the sink package that talks to the
service registers a classifier (:func:`add_classifier`; ``logtide.sinks.aws.errors`` for AWS) that
``is_retryable`` consults for failures the tree above does not settle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    """Where a config value came from; printed as ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class LogtideError(Exception):
    """Base of every error logtide raises deliberately."""


class ConfigError(LogtideError):
    """A configuration problem, reported as one line: ``file:line: message``."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class QueryError(ConfigError):
    """A stream-processor query that cannot be parsed or planned."""


class PluginError(LogtideError):
    """A plugin could not be built or started."""


@contextlib.contextmanager
def as_plugin_error(what: str) -> Iterator[None]:
    """A plugin's own failure, whatever its type, as one line: ``PluginError("what: why")``
    (a LogtideError already is one line and passes unchanged)."""
    try:
        yield
    except LogtideError:
        raise
    except Exception as exc:
        raise PluginError(f"{what}: {exc}") from exc


class DeliveryError(LogtideError):
    """An output could not deliver some events.

    ``remaining`` optionally narrows what must be sent again: when part of a batch was
    accepted, only the rest is retried, so a partial failure never duplicates the whole batch.
    """

    def __init__(self, message: str, remaining: list[Any] | None = None) -> None:
        super().__init__(message)
        self.remaining = remaining


class RetryableDeliveryError(DeliveryError):
    """A transient failure; the same request may succeed later."""


class PermanentDeliveryError(DeliveryError):
    """A failure that retrying cannot fix."""


# Services' own failure classifications (an AWS error code, say), registered by the sink
# package that knows them: the core names no service, yet decides in one place.
Classifier = Callable[[BaseException], bool | None]
_classifiers: list[Classifier] = []


def add_classifier(classify: Classifier) -> None:
    """Let :func:`is_retryable` consult ``classify`` for failures the core cannot judge:
    it returns True (retry), False (permanent) or None (not one of its failures)."""
    if classify not in _classifiers:
        _classifiers.append(classify)


def is_retryable(exc: BaseException) -> bool:
    """Decide once, for every output, whether a failure is worth retrying.

    Unknown failures are retried: losing data because an error was not recognised is worse
    than retrying something that will fail again (``Retry_Limit`` bounds that). Errors that
    come from the data itself (a value that cannot be encoded, a wrong type, a number out of
    range such as a time past year 9999: ``OverflowError``) are permanent:
    the same batch fails the same way every time, and retrying it would stall the output.
    """
    if isinstance(exc, RetryableDeliveryError):
        return True
    if isinstance(
        exc,
        PermanentDeliveryError | ConfigError | ValueError | TypeError | KeyError | ArithmeticError,
    ):
        return False
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    for classify in _classifiers:
        verdict = classify(exc)
        if verdict is not None:
            return verdict
    return True
