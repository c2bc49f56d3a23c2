"""The trimmed botocore data builds the very requests the stock data builds, for every
operation the outputs call, and still resolves services it does not list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.loaders import Loader
from botocore.session import Session

from logtide.sinks.aws.client import AwsClients
from logtide.sinks.aws.models import OPERATIONS, TrimmedLoader, shared_loader, trim_model
from logtide.sinks.kinesis_firehose.options import FirehoseSettings
from logtide.sinks.kinesis_firehose.output import KinesisFirehoseOutput
from tests.support.built_request import Built, offline_credentials, stop_before_send
from tests.support.plugins import settings_for

# One call of every operation in OPERATIONS, with the parameters the outputs pass.
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("s3", "PutObject", {"Bucket": "logs", "Key": "a/b.gz", "Body": b"x\n", "ContentEncoding": "gzip", "ContentType": "application/json", "ContentMD5": "rL0Y20zC+Fzt72VPzMSk2A==", "StorageClass": "STANDARD_IA", "Tagging": "a=b", "ACL": "private"}),
    ("s3", "CreateMultipartUpload", {"Bucket": "logs", "Key": "k", "ContentType": "text/plain"}),
    ("s3", "UploadPart", {"Bucket": "logs", "Key": "k", "UploadId": "u", "PartNumber": 2, "Body": b"part"}),
    ("s3", "CompleteMultipartUpload", {"Bucket": "logs", "Key": "k", "UploadId": "u", "MultipartUpload": {"Parts": [{"ETag": '"e1"', "PartNumber": 1}, {"ETag": '"e2"', "PartNumber": 2}]}}),
    ("s3", "AbortMultipartUpload", {"Bucket": "logs", "Key": "k", "UploadId": "u"}),
    ("s3", "ListMultipartUploads", {"Bucket": "logs", "Prefix": "p/", "KeyMarker": "m", "UploadIdMarker": "u"}),
    ("s3", "ListParts", {"Bucket": "logs", "Key": "k", "UploadId": "u", "PartNumberMarker": 3}),
    ("s3", "HeadBucket", {"Bucket": "logs"}),
    ("s3", "CreateSession", {"Bucket": "logs"}),
    ("logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": "m\u00e9"}]}),
    ("logs", "GetLogEvents", {"logGroupName": "g", "logStreamName": "s", "startFromHead": False, "limit": 10, "nextToken": "t"}),
    ("logs", "CreateLogGroup", {"logGroupName": "g", "logGroupClass": "STANDARD", "tags": {"a": "b"}}),
    ("logs", "CreateLogStream", {"logGroupName": "g", "logStreamName": "s"}),
    ("logs", "PutRetentionPolicy", {"logGroupName": "g", "retentionInDays": 7}),
    ("firehose", "PutRecordBatch", {"DeliveryStreamName": "d", "Records": [{"Data": b"r1\n"}, {"Data": b"r2"}]}),
    ("kinesis", "PutRecords", {"StreamName": "k", "Records": [{"Data": b"r1\n", "PartitionKey": "p"}, {"Data": b"r2", "PartitionKey": "q"}]}),
]  # fmt: skip

# Differ between any two requests (time, signature, a random id).
VOLATILE = {"authorization", "x-amz-date", "amz-sdk-invocation-id", "x-amz-security-token"}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_credentials(monkeypatch)


@contextmanager
def _client(loader: Loader, service: str, **where: Any) -> Iterator[Any]:
    session = Session()
    session.register_component("data_loader", loader)
    config = Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"})
    client = session.create_client(service, config=config, **where)
    client.meta.events.register("before-send", stop_before_send)
    try:
        yield client
    finally:
        client.close()


def _request(
    client: Any, operation: str, params: dict[str, Any]
) -> tuple[str, str, dict[str, str], bytes]:
    """What ``client`` would send for ``operation``; nothing is sent."""
    with pytest.raises(Built) as built:
        getattr(client, xform_name(operation))(**params)
    request = built.value.request
    headers = {k.lower(): str(v) for k, v in request.headers.items()}
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        body = body.read() if hasattr(body, "read") else bytes(body)
    kept = {k: v for k, v in headers.items() if k not in VOLATILE}
    return request.method, request.url, kept, body


def _same_requests(
    stock: Loader,
    trimmed: Loader,
    service: str,
    calls: list[tuple[str, dict[str, Any]]],
    **where: Any,
) -> None:
    with (
        _client(stock, service, **where) as theirs,
        _client(trimmed, service, **where) as ours,
    ):
        for operation, params in calls:
            expected = _request(theirs, operation, params)
            assert _request(ours, operation, params) == expected, (service, operation)


def test_every_listed_operation_has_a_call() -> None:
    called: dict[str, set[str]] = {}
    for service, operation, _ in CALLS:
        called.setdefault(service, set()).add(operation)
    assert called == {service: set(ops) for service, ops in OPERATIONS.items()}


@pytest.mark.parametrize(
    "where",
    [
        {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"},
        {"region_name": "us-east-1"},
        {"region_name": "cn-north-1"},
        {"region_name": "us-gov-west-1"},
    ],
    ids=["endpoint", "us-east-1", "china", "govcloud"],
)
def test_requests_are_those_of_the_stock_model(where: dict[str, str]) -> None:
    stock, trimmed = Loader(), TrimmedLoader()
    for service in OPERATIONS:
        calls = [(op, params) for name, op, params in CALLS if name == service]
        _same_requests(stock, trimmed, service, calls, **where)


def test_a_service_it_does_not_list_resolves_as_stock() -> None:
    """STS (role_arn) is not in OPERATIONS: its endpoints come back whole, its model too."""
    stock, trimmed = Loader(), TrimmedLoader()
    _same_requests(stock, trimmed, "s3", [("HeadBucket", {"Bucket": "b"})], region_name="us-east-1")
    call = ("AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "logtide"})
    for region in ("us-east-1", "eu-west-1", "cn-north-1"):
        _same_requests(stock, trimmed, "sts", [call], region_name=region)


def test_the_trimmed_model_keeps_what_it_lists_and_fails_on_what_botocore_lacks() -> None:
    loader = TrimmedLoader()
    model = loader.load_service_model("logs", "service-2")
    assert set(model["operations"]) == OPERATIONS["logs"]
    assert "documentation" not in model["operations"]["PutLogEvents"]
    assert loader.load_service_model("logs", "service-2") is model
    full = Loader().load_service_model("logs", "service-2")
    exceptions = {name for name, shape in full["shapes"].items() if shape.get("exception")}
    assert exceptions <= set(model["shapes"])
    with pytest.raises(KeyError, match="NoSuchOperation"):
        trim_model(full, frozenset({"PutLogEvents", "NoSuchOperation"}))


def test_endpoints_keep_only_the_services_asked_for() -> None:
    loader = TrimmedLoader()
    endpoints = loader.load_data("endpoints")
    stock = Loader().load_data("endpoints")
    assert [p["partition"] for p in endpoints["partitions"]] == [
        p["partition"] for p in stock["partitions"]
    ]
    aws = endpoints["partitions"][0]
    assert set(aws["services"]) == set(OPERATIONS)
    assert aws["regions"] == stock["partitions"][0]["regions"]
    loader.load_service_model("sts", "service-2")
    assert aws["services"]["sts"] == stock["partitions"][0]["services"]["sts"]


async def test_every_output_session_shares_one_loader() -> None:
    options = {"delivery_stream": "d", "region": "us-east-1", "endpoint": "http://127.0.0.1:9"}
    settings = FirehoseSettings.bind(settings_for(KinesisFirehoseOutput, **options))
    first, second = AwsClients(settings), AwsClients(settings)
    try:
        await first.client("s3")
        await second.client("logs")
        assert first._session is not None and second._session is not None
        loader = first._session.get_component("data_loader")
        assert loader is second._session.get_component("data_loader") is shared_loader(None)
    finally:
        await first.close()
        await second.close()
