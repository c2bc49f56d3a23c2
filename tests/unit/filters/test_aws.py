"""The aws filter against the IMDS stand-in on 127.0.0.1 (v2 token rules enforced)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.filters.aws import WARM_UP_SECONDS, AwsFilter
from tests.support.fake_imds import FakeImds, fake_imds
from tests.support.plugins import build, plugin_context, settings_for

DEFAULT_FIELDS = {"az": "us-east-1a", "ec2_instance_id": "i-0a1b2c3d4e5f67890"}
ALL_ON = {
    name: "On"
    for name in (
        "ec2_instance_type",
        "private_ip",
        "vpc_id",
        "ami_id",
        "account_id",
        "hostname",
    )
}


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    with fake_imds() as server:
        yield server


def records(filt: AwsFilter, count: int = 1) -> list[dict[str, Any]]:
    events = [(1.0, {"log": f"line {i}"}) for i in range(count)]
    return [record for _, record in filt("app", events)]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_v2_token_then_every_get_carries_it(imds: FakeImds) -> None:
    async with plugin_context("aws.0") as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url)
        await filt.start()
        (record,) = records(filt)
    assert record == {"log": "line 0", **DEFAULT_FIELDS}
    assert list(record) == ["log", "az", "ec2_instance_id"]
    assert imds.requests[0][:2] == ("PUT", "/latest/api/token")
    assert imds.puts() == 1
    gets = [request for request in imds.requests if request[0] == "GET"]
    assert [path for _, path, _ in gets] == [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/placement/availability-zone",
    ]
    assert all(token in imds.tokens for _, _, token in gets)


async def test_every_field_in_fluent_bit_order_fetched_once(imds: FakeImds) -> None:
    async with plugin_context("aws.0") as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, **ALL_ON)
        await filt.start()
        first, second = records(filt, 2)
        asked = len(imds.requests)
        for _ in range(50):
            records(filt, 10)
        await asyncio.sleep(0.05)
    assert list(first.items())[1:] == [
        ("az", "us-east-1a"),
        ("ec2_instance_id", "i-0a1b2c3d4e5f67890"),
        ("ec2_instance_type", "m5.large"),
        ("private_ip", "192.168.12.34"),
        ("vpc_id", "vpc-0123456789abcdef0"),
        ("ami_id", "ami-0abcdef1234567890"),
        ("account_id", "123456789012"),
        ("hostname", "ip-192-168-12-34.ec2.internal"),
    ]
    assert second["vpc_id"] == first["vpc_id"]
    assert "/latest/meta-data/mac" in imds.gets()
    assert "/latest/dynamic/instance-identity/document" in imds.gets()
    assert len(imds.requests) == asked, "values are cached: no request after the first round"
    assert filt.rounds == 1


async def test_fields_switched_off_are_neither_asked_nor_added(imds: FakeImds) -> None:
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, az="Off", ec2_instance_id="Off")
        await filt.start()
        (record,) = records(filt)
    assert record == {"log": "line 0"}
    assert imds.requests == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"Name": "node-1", "team": "logs", "env": "prod"}),
        ({"tags_include": "team, env"}, {"team": "logs", "env": "prod"}),
        ({"tags_exclude": "Name"}, {"team": "logs", "env": "prod"}),
    ],
)
async def test_tags(imds: FakeImds, options: dict[str, str], expected: dict[str, str]) -> None:
    imds.tags = {"Name": "node-1", "team": "logs", "env": "prod"}
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, az="Off", tags_enabled="On", **options)
        await filt.start()
        (record,) = records(filt)
    assert record == {"log": "line 0", "ec2_instance_id": "i-0a1b2c3d4e5f67890", **expected}
    asked = {path.rsplit("/", 1)[1] for path in imds.gets() if "/tags/instance/" in path}
    assert asked == set(expected), "only the tags that are added are fetched"


async def test_tags_not_exposed_warns_once_and_is_not_retried(
    imds: FakeImds, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_context() as ctx:
        filt = build(
            AwsFilter, ctx, imds_endpoint=imds.url, tags_enabled="On", retry_interval_s="0"
        )
        with caplog.at_level(logging.WARNING):
            await filt.start()
            for _ in range(5):
                (record,) = records(filt)
    assert record == {"log": "line 0", **DEFAULT_FIELDS}
    assert filt.rounds == 1
    assert [r.getMessage() for r in caplog.records if "tags" in r.getMessage()] == [
        "test.0: IMDS has no instance tags (HTTP 404): the instance has none, or instance "
        "metadata tags are not enabled on it; no tags are added"
    ]


async def test_v1_sends_plain_gets(imds: FakeImds) -> None:
    imds.require_token = False
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, imds_version="v1")
        await filt.start()
        (record,) = records(filt)
    assert record == {"log": "line 0", **DEFAULT_FIELDS}
    assert imds.puts() == 0
    assert {token for _, _, token in imds.requests} == {None}


async def test_v1_against_an_imds_that_requires_tokens_gets_no_fields(
    imds: FakeImds, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, imds_version="v1")
        with caplog.at_level(logging.WARNING):
            await filt.start()
            (record,) = records(filt)
    assert record == {"log": "line 0"}
    assert "HTTP 401" in caplog.text


async def test_expired_token_is_fetched_again_on_401(imds: FakeImds) -> None:
    del imds.metadata["meta-data/instance-type"]
    now = [1000.0]
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, ec2_instance_type="On")
        filt._clock = lambda: now[0]
        await filt.start()
        (record,) = records(filt)
        assert "ec2_instance_type" not in record and record["az"] == "us-east-1a"
        assert imds.puts() == 1
        imds.metadata["meta-data/instance-type"] = "m5.large"
        imds.expire_tokens()
        now[0] += 300
        records(filt)
        await eventually(lambda: filt.rounds == 2 and not filt._inflight)
        (record,) = records(filt)
    assert record["ec2_instance_type"] == "m5.large"
    assert imds.puts() == 2
    last = imds.requests[-3:]
    assert [(method, path) for method, path, _ in last] == [
        ("GET", "/latest/meta-data/instance-type"),
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/instance-type"),
    ]
    assert last[0][2] != last[2][2], "the GET is repeated with the new token"


async def test_imds_failing_records_flow_then_get_the_fields(
    imds: FakeImds, caplog: pytest.LogCaptureFixture
) -> None:
    imds.set_mode("error")
    now = [1000.0]
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, retry_interval_s="60")
        filt._clock = lambda: now[0]
        with caplog.at_level(logging.INFO):
            await filt.start()
            out = records(filt, 100)
            assert out == [{"log": f"line {i}"} for i in range(100)], "nothing lost or held"
            asked = len(imds.requests)
            for _ in range(20):
                assert len(records(filt, 5)) == 5
                now[0] += 2
            await asyncio.sleep(0.05)
            assert len(imds.requests) == asked, "no request before retry_interval_s"
            assert filt.rounds == 1
            imds.set_mode("ok")
            now[0] += 21
            assert records(filt) == [{"log": "line 0"}], "the call itself never waits"
            await eventually(lambda: not filt._inflight)
            (record,) = records(filt)
    assert record == {"log": "line 0", **DEFAULT_FIELDS}
    assert filt.rounds == 2
    assert ctx.metrics.get("test.0", "imds_failures") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"test.0: instance metadata from {imds.url} incomplete (PUT /latest/api/token "
        "(IMDSv2 token): HTTP 500); records go on without ec2_instance_id, az; "
        "asked again after 60s"
    ]
    assert "IMDS answered; records now carry every field asked for" in caplog.text


async def test_warning_is_not_repeated_while_the_same_fields_stay_missing(
    imds: FakeImds, caplog: pytest.LogCaptureFixture
) -> None:
    imds.set_mode("error")
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, retry_interval_s="0")
        with caplog.at_level(logging.WARNING):
            await filt.start()
            for _ in range(5):
                records(filt)
                await eventually(lambda: not filt._inflight)
    assert filt.rounds == 6
    assert ctx.metrics.get("test.0", "imds_failures") == 6
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize("mode", ["timeout", "refuse"])
async def test_unreachable_imds_never_stalls_the_filter(
    imds: FakeImds, mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    imds.set_mode(mode)
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, **ALL_ON)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            await filt.start()
        assert time.monotonic() - started < WARM_UP_SECONDS + 1.0
        started = time.monotonic()
        for _ in range(100):
            assert len(records(filt, 10)) == 10
        assert time.monotonic() - started < 0.5
        await eventually(lambda: not filt._inflight)
    # the round stops at the first request that got no answer instead of trying each field
    expected = 1 if mode == "timeout" else 0
    assert len(imds.requests) == expected
    hint = "IMDSv2 needs the instance's metadata hop limit set to 2, or use imds_version v1"
    assert (hint in caplog.text) == (mode == "timeout")
    assert filt.metadata.missing() == [
        "ec2_instance_id",
        "account_id",
        "ec2_instance_type",
        "private_ip",
        "vpc_id",
        "ami_id",
        "hostname",
        "az",
    ]


async def test_enable_entity_adds_the_entity_keys(imds: FakeImds) -> None:
    async with plugin_context() as ctx:
        filt = build(AwsFilter, ctx, imds_endpoint=imds.url, enable_entity="On", az="Off")
        await filt.start()
        (record,) = records(filt)
    assert record == {
        "log": "line 0",
        "ec2_instance_id": "i-0a1b2c3d4e5f67890",
        "aws_entity_ec2_instance_id": "i-0a1b2c3d4e5f67890",
        "aws_entity_account_id": "123456789012",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"imds_version": "v3"},
            "filter 'aws': option 'imds_version': expected one of v1, v2, got 'v3'",
        ),
        (
            {"tags_include": "a", "tags_exclude": "b"},
            "filter 'aws': tags_include and tags_exclude cannot both be set",
        ),
        ({"retry_interval_s": "-1"}, "filter 'aws': retry_interval_s must be >= 0"),
        (
            {"imds_endpoint": "169.254.169.254"},
            "filter 'aws': imds_endpoint must start with http:// or https://, "
            "got '169.254.169.254'",
        ),
        ({"az": "maybe"}, "filter 'aws': option 'az': expected a boolean"),
    ],
)
def test_validation(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(AwsFilter, **options)
    assert caught.value.message.startswith(message)
    assert "\n" not in str(caught.value)
