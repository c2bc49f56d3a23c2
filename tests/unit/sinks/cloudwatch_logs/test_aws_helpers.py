import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from logtide.sinks.aws.records import epoch_ms, truncate_utf8
from logtide.sinks.aws.retry import (
    call_with_auto_retry,
    error_code,
    is_network_error,
    outcome_unknown,
)


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutLogEvents",
    )


def test_epoch_ms_truncates() -> None:
    assert epoch_ms(1.9999) == 1999
    assert epoch_ms(1795744014.714) == 1795744014714


def test_truncate_utf8_never_splits_a_character() -> None:
    data = "aé€".encode()  # 1 + 2 + 3 bytes
    assert [truncate_utf8(data, n) for n in range(7)] == [
        b"", b"a", b"a", "aé".encode(), "aé".encode(), "aé".encode(), data
    ]  # fmt: skip


def test_classification() -> None:
    assert error_code(client_error("ThrottlingException", 400)) == "ThrottlingException"
    refused = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    timeout = ReadTimeoutError(endpoint_url="http://127.0.0.1:1")
    assert is_network_error(refused) and not outcome_unknown(refused)
    assert is_network_error(timeout) and outcome_unknown(timeout)
    assert not is_network_error(client_error("InternalFailure", 500))


async def test_auto_retry_retries_network_errors_once_only() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        return "ok"

    with pytest.raises(EndpointConnectionError):
        await call_with_auto_retry(flaky, True, delay=0)
    assert len(calls) == 2
    assert await call_with_auto_retry(flaky, True, delay=0) == "ok"


async def test_auto_retry_leaves_api_errors_and_disabled_alone() -> None:
    calls = []

    async def throttled() -> None:
        calls.append(1)
        raise client_error("ThrottlingException", 400)

    with pytest.raises(ClientError):
        await call_with_auto_retry(throttled, True, delay=0)
    assert len(calls) == 1
