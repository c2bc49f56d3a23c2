"""Faults between the s3 output and moto (tests/support/fault_proxy.py): no loss, no dupes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from logtide.agent.core.errors import PermanentDeliveryError, RetryableDeliveryError
from logtide.agent.core.retry import Backoff
from tests.support.fault_proxy import (
    Request,
    Response,
    drop_response,
    refuse,
    respond_with,
)

BUCKET = "logs"  # created by the conftest's s3 fixture
T0 = 1795744014.715089


def events(count: int, first: int = 0, pad: int = 0) -> list[Any]:
    return [(T0 + i, {"n": first + i, "pad": "x" * pad}) for i in range(count)]


def numbers(s3h: Any) -> list[int]:
    return sorted(r["n"] for body in s3h.objects().values() for r in s3h.lines(body))


def s3_error(status: int, code: str) -> Any:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<Error><Code>{code}</Code><Message>injected {code}</Message></Error>"
    ).encode()
    return respond_with(lambda request: Response(status, {"content-type": "application/xml"}, body))


def s3_op(exchange_request: Request) -> str:
    return f"{exchange_request.method} {exchange_request.target.split('?')[0]}"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(s3_error(503, "SlowDown"), id="503-slowdown"),
        pytest.param(s3_error(500, "InternalError"), id="500"),
        pytest.param(refuse(), id="connection-reset"),
        pytest.param(drop_response(), id="response-lost"),
    ],
)
async def test_put_object_recovers_from_faults(running, s3h, proxy, fault) -> None:
    proxy.inject(fault, times=3)
    async with running(endpoint=proxy.endpoint, Retry_Limit="5") as out:
        await out.flush("app", events(20))
    assert numbers(s3h) == list(range(20))
    assert len(s3h.objects()) == 1  # a retried PutObject rewrites the same key
    puts = [e for e in proxy.calls() if e.request.method == "PUT"]
    assert len(puts) == 4 and puts[-1].status == 200
    # the HTTP client itself may resend once on a dropped keep-alive connection
    assert 1 <= out.context.metrics.get("s3.0", "s3_upload_retries") <= 3


async def test_multipart_recovers_from_faults_on_parts(running, s3h, proxy, s3) -> None:
    async with running(
        endpoint=proxy.endpoint, total_file_size="10M", upload_chunk_size="5M", Retry_Limit="8"
    ) as out:
        proxy.inject(s3_error(503, "SlowDown"), times=2)
        await out.flush("app", events(6 * 1024, pad=1000))
        await asyncio.sleep(0.3)
        proxy.inject(drop_response(), times=1)
        proxy.inject(s3_error(500, "InternalError"), times=1)
    assert numbers(s3h) == list(range(6 * 1024))
    assert len(s3h.objects()) == 1
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


async def test_outage_for_a_while_then_delivery(running, s3h, proxy) -> None:
    async with running(endpoint=proxy.endpoint) as out:
        proxy.inject(s3_error(503, "SlowDown"), duration=0.5)
        await out.flush("app", events(5))
        out.backoff = Backoff(0.1, 0.3)
    assert numbers(s3h) == list(range(5))


async def test_no_such_bucket_is_permanent_and_keeps_the_buffer(running, s3h, s3) -> None:
    s3.delete_bucket(Bucket=BUCKET)
    with pytest.raises(PermanentDeliveryError) as failure:
        async with running(Retry_Limit="3") as out:
            await out.flush("app", events(3))
    message = str(failure.value)
    assert "NoSuchBucket" in message and "\n" not in message
    assert out.context.metrics.get("s3.0", "s3_upload_retries") == 0
    assert len(list(out.store.root.glob("*.jsonl"))) == 1  # nothing deleted before S3 had it
    s3.create_bucket(Bucket=BUCKET)
    async with running():
        pass
    assert numbers(s3h) == [0, 1, 2]


async def test_access_denied_is_permanent(running, proxy) -> None:
    proxy.inject(s3_error(403, "AccessDenied"), times=None)
    with pytest.raises(PermanentDeliveryError, match="AccessDenied"):
        async with running(endpoint=proxy.endpoint) as out:
            await out.flush("app", events(3))
    assert out.context.metrics.get("s3.0", "s3_upload_retries") == 0


async def test_retry_limit_exhausted_under_once_is_an_error(running, proxy) -> None:
    proxy.inject(s3_error(503, "SlowDown"), times=None)
    with pytest.raises(PermanentDeliveryError, match="SlowDown"):
        async with running(endpoint=proxy.endpoint, Retry_Limit="2") as out:
            await out.flush("app", events(3))
    assert out.context.metrics.get("s3.0", "s3_upload_retries") == 2


async def test_store_dir_limit_applies_backpressure_not_loss(running, s3h, proxy) -> None:
    proxy.inject(s3_error(503, "SlowDown"), times=None)
    async with running(endpoint=proxy.endpoint, store_dir_limit_size="2k") as out:
        out.space_wait = 0.3
        await out.flush("app", events(10, pad=100))  # ~1.5k: the first batch always fits
        with pytest.raises(RetryableDeliveryError, match="store_dir_limit_size"):
            await out.flush("app", events(10, first=10, pad=100))
        proxy.clear()
        await out.flush("app", events(10, first=10, pad=100))
    assert numbers(s3h) == list(range(20))
