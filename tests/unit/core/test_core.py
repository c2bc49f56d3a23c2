from __future__ import annotations

import pytest

import logtide.sinks.aws.errors  # noqa: F401  (the AWS error codes is_retryable is asked about below)
from logtide.agent.core.errors import (
    ConfigError,
    Location,
    PermanentDeliveryError,
    RetryableDeliveryError,
    is_retryable,
)
from logtide.agent.core.events import Ack
from logtide.agent.core.options import Entry, Option, parse_bool, parse_size, parse_time, resolve
from logtide.agent.core.tags import tag_matches

LOC = Location("x.conf", 3)


def test_ack_fires_once_after_every_destination_settles() -> None:
    results: list[bool] = []
    ack = Ack(results.append)
    ack.retain(2)
    ack.settle()
    ack.settle()
    assert results == []
    ack.settle()
    assert results == [True]
    with pytest.raises(RuntimeError):
        ack.settle()


def test_ack_reports_failure_of_any_destination() -> None:
    results: list[bool] = []
    ack = Ack(results.append)
    ack.retain()
    ack.settle(False)
    ack.settle(True)
    assert results == [False]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("32k", 32768), ("30M", 30 * 1024**2), ("256MB", 256 * 1024**2), ("1G", 1024**3), ("7", 7)],
)
def test_parse_size(raw: str, expected: int) -> None:
    assert parse_size(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("3m", 180.0), ("10s", 10.0), ("1.5", 1.5)])
def test_parse_time(raw: str, expected: float) -> None:
    assert parse_time(raw) == expected


@pytest.mark.parametrize("raw", ["On", "true", "YES", "1"])
def test_parse_bool_true(raw: str) -> None:
    assert parse_bool(raw) is True


def test_resolve_rejects_unknown_key_with_valid_keys() -> None:
    table = (Option("Path", required=True), Option("Refresh_Interval", "time", 60.0))
    with pytest.raises(ConfigError) as info:
        resolve("input 'tail'", table, [Entry("Refresh_Intervl", "3", LOC)], LOC)
    assert str(info.value) == (
        "x.conf:3: input 'tail': unknown option 'Refresh_Intervl' "
        "(did you mean 'Refresh_Interval'?); valid options: Path, Refresh_Interval"
    )


def test_resolve_types_case_insensitive_and_multiple() -> None:
    table = (Option("Parser", multiple=True), Option("Mem_Buf_Limit", "size", 0))
    settings = resolve(
        "filter 'parser'",
        table,
        [Entry("parser", "a", LOC), Entry("PARSER", "b", LOC), Entry("mem_buf_limit", "1k", LOC)],
        LOC,
    )
    assert settings["Parser"] == ["a", "b"]
    assert settings["mem_buf_limit"] == 1024
    assert settings.is_set("Parser")


def test_resolve_reports_bad_value_and_missing_required() -> None:
    table = (Option("Path", required=True), Option("Skip_Long_Lines", "bool", False))
    with pytest.raises(ConfigError, match=r"x.conf:3: .*'Skip_Long_Lines': expected a boolean"):
        resolve("input 'tail'", table, [Entry("Skip_Long_Lines", "maybe", LOC)], LOC)
    with pytest.raises(ConfigError, match="missing required option 'Path'"):
        resolve("input 'tail'", table, [], LOC)


def test_is_retryable_classifies_once() -> None:
    assert is_retryable(RetryableDeliveryError("x"))
    assert not is_retryable(PermanentDeliveryError("x"))
    assert is_retryable(ConnectionResetError())
    assert is_retryable(TimeoutError())
    assert not is_retryable(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert not is_retryable(TypeError("bytes is not JSON serializable"))
    # A time past year 9999 in the data: the same batch would overflow on every retry.
    assert not is_retryable(OverflowError("timestamp out of range for platform time_t"))

    class ClientError(Exception):
        def __init__(self, code: str, status: int) -> None:
            self.response = {
                "Error": {"Code": code},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

    assert is_retryable(ClientError("SlowDown", 503))
    assert is_retryable(ClientError("Weird", 500))
    assert not is_retryable(ClientError("AccessDenied", 403))
    assert not is_retryable(ClientError("NoSuchBucket", 404))


def test_tag_matches() -> None:
    assert tag_matches("order*", "order")
    assert tag_matches("order*", "order.var.log")
    assert not tag_matches("order*", "Order")
    assert tag_matches("*", "x")
    assert tag_matches("a.*.c", "a.b.c")
    assert not tag_matches("states.ca", "states.notca")


def test_metrics_probe_is_read_with_the_gauges() -> None:
    from logtide.agent.core.metrics import Metrics

    metrics = Metrics()
    level = {"value": 3.0}
    metrics.set("tail.0", "set_gauge", 1.0)
    metrics.probe("tail.0", lambda: [("lag", (("file", "a"),), level["value"])])
    assert metrics.gauges() == {
        ("tail.0", "set_gauge", ()): 1.0,
        ("tail.0", "lag", (("file", "a"),)): 3.0,
    }
    level["value"] = 0.0
    assert metrics.gauges()[("tail.0", "lag", (("file", "a"),))] == 0.0
