"""PutLogEvents bodies written by orjson carry the very document botocore's serializer
writes, in a request otherwise the same (same URL, same headers but the length)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from botocore.config import Config
from botocore.session import Session

from logtide.sinks.cloudwatch_logs.batching import LogEvent, encode_events
from logtide.sinks.cloudwatch_logs.request_body import write_bodies_with_orjson
from tests.support.built_request import Built, offline_credentials, stop_before_send

VOLATILE = {"authorization", "x-amz-date", "amz-sdk-invocation-id", "content-length"}

EVENTS = [
    {"timestamp": 1764600000000, "message": '{"log":"plain","n":1}'},
    {"timestamp": 1764600000001, "message": 'quotes " and \\ backslash\tand a tab'},
    {"timestamp": 1764600000002, "message": "caf\u00e9 \u65e5\u672c \U0001f680 and a\nnewline"},
    {"timestamp": 1764600000003, "message": "control \u0001 and \u2028 separators"},
]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_credentials(monkeypatch)


def _request(ours: bool, **params: Any) -> tuple[str, dict[str, str], Any, bytes]:
    client = Session().create_client(
        "logs",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )
    if ours:
        write_bodies_with_orjson(client)
    client.meta.events.register("before-send", stop_before_send)
    try:
        with pytest.raises(Built) as built:
            client.put_log_events(**params)
    finally:
        client.close()
    request = built.value.request
    headers = {k.lower(): str(v) for k, v in request.headers.items() if k.lower() not in VOLATILE}
    return request.url, headers, json.loads(request.body), request.body


@pytest.mark.parametrize("events", [EVENTS, EVENTS[:1]], ids=["mixed", "one"])
def test_the_body_is_the_stock_serializers_document(events: list[dict[str, Any]]) -> None:
    params = {"logGroupName": "/aws/app", "logStreamName": "node-a.log", "logEvents": events}
    *stock, stock_body = _request(False, **params)
    *ours, our_body = _request(True, **params)
    assert ours == stock
    assert stock[2]["logEvents"] == events
    # Written by orjson (UTF-8 as it is), not by botocore's serializer (ASCII escapes).
    assert b'"timestamp":1764600000000' in our_body
    assert b'"timestamp": 1764600000000' in stock_body


def test_an_encoded_array_is_sent_as_it_stands() -> None:
    """The output hands its batch over as the bytes it journaled (``orjson.Fragment``)."""
    batch = [LogEvent(e["timestamp"], e["message"], 0, (0.0, {})) for e in EVENTS]
    array = encode_events(batch)
    params = {"logGroupName": "/aws/app", "logStreamName": "node-a.log"}
    *stock, _ = _request(False, logEvents=EVENTS, **params)
    *ours, our_body = _request(True, logEvents=orjson.Fragment(array), **params)
    assert ours == stock
    assert array in our_body


def test_every_call_sends_its_own_events() -> None:
    client = Session().create_client(
        "logs",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )
    write_bodies_with_orjson(client)
    client.meta.events.register("before-send", stop_before_send)
    bodies = []
    try:
        for events in (EVENTS[:2], EVENTS[2:]):
            with pytest.raises(Built) as built:
                client.put_log_events(logGroupName="g", logStreamName="s", logEvents=events)
            bodies.append(json.loads(built.value.request.body)["logEvents"])
    finally:
        client.close()
    assert bodies == [EVENTS[:2], EVENTS[2:]]
