"""AWS error codes are classified in logtide.sinks.aws, decided through the core's is_retryable."""

from __future__ import annotations

import subprocess
import sys

from botocore.exceptions import ClientError

from logtide.agent.core.errors import is_retryable
from logtide.sinks.aws.errors import classify


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


def test_botocore_errors_are_decided_by_the_aws_codes() -> None:
    assert is_retryable(_client_error("ThrottlingException", 400))
    assert is_retryable(_client_error("ExpiredToken", 400))
    assert is_retryable(_client_error("Weird", 429))
    assert not is_retryable(_client_error("AccessDenied", 403))
    assert classify(ValueError("x")) is None


def test_the_core_names_no_aws_code() -> None:
    code = (
        "import sys, logtide.agent.core.errors as e; "
        "assert 'ThrottlingException' not in open(e.__file__).read(); "
        "assert not any(m.startswith('logtide.sinks') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
