"""Log streams the output remembers: created once, let go once idle past their TTL."""

from __future__ import annotations

import logging

import pytest

from logtide.sinks.cloudwatch_logs import streams
from logtide.sinks.cloudwatch_logs.streams import STREAM_TTL, SWEEP_INTERVAL, LogStreams


class _Client:
    """Stands in for the aiobotocore client: counts the streams it was asked to create."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def create_log_stream(self, logGroupName: str, logStreamName: str) -> None:
        self.created.append(logStreamName)


async def test_streams_idle_past_their_ttl_are_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each pod's file gets a stream (log_stream_prefix + tag): with pods coming and going,
    # every stream ever used stayed in memory, with its lock, for the life of the agent.
    now = [1000.0]
    monkeypatch.setattr(streams.time, "monotonic", lambda: now[0])
    client = _Client()
    known = LogStreams(
        client,
        auto_create_group=False,
        retention_days=0,
        group_class="STANDARD",
        auto_retry=False,
        logger=logging.getLogger("test"),
    )
    for pod in range(100):
        await known.ensure(("g", f"pod-{pod}"))
    assert len(known._expiry.keys() | known._locks.keys()) == 100 and len(client.created) == 100
    await known.ensure(("g", "pod-0"))
    assert len(client.created) == 100, "a known stream is not created again"

    now[0] += STREAM_TTL + SWEEP_INTERVAL
    await known.ensure(("g", "new"))
    assert len(known._expiry.keys() | known._locks.keys()) == 1, (
        "only the stream in use is remembered"
    )
    await known.ensure(("g", "pod-7"))
    assert client.created[-1] == "pod-7", "a stream let go is made sure of again"
