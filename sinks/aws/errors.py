"""Which AWS failures are worth retrying, told to the core's one :func:`is_retryable`.

An AWS client error carries the service's error code and the HTTP status of its answer.
Throttling, service-side trouble and expired requests or tokens are transient (the codes
below, and any 5xx or 429 answer); any other answer (access denied, no such bucket, a
malformed request) fails again the same way. Importing ``logtide.sinks.aws`` registers
:func:`classify` with the core, so every output, and the engine, decide through the one
``logtide.agent.core.errors.is_retryable``.
"""

from __future__ import annotations

from logtide.agent.core.errors import add_classifier

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestExpired",
        "OperationAbortedException",
        "LimitExceededException",
        "KMSThrottlingException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)


def classify(exc: BaseException) -> bool | None:
    """True/False for an AWS service's answer (botocore's ``response`` shape), else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in RETRYABLE_CODES:
        return True
    if isinstance(status, int):
        return status >= 500 or status == 429
    return False


add_classifier(classify)
