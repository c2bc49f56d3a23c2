"""cloudwatch_logs ``extra_user_agent``: appended to the User-Agent of every CloudWatch Logs
request, as Fluent Bit does (Container Insights tags its traffic this way). Checked on the
wire, through a recording proxy in front of a moto server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from logtide.agent.core.plugins import PluginContext
from logtide.sinks.cloudwatch_logs import CloudWatchLogsOutput
from tests.support.delivery import deliver
from tests.support.fault_proxy import FaultProxy
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

EXTRA = "container-insights-eks/1.0 addon/v1.7"


@pytest.fixture
async def context() -> AsyncIterator[PluginContext]:
    async with plugin_context("cloudwatch_logs.0") as ctx:
        yield ctx


async def ship(context: PluginContext, endpoint: str, **extra: str) -> None:
    output = build(
        CloudWatchLogsOutput,
        context,
        Match="*",
        region="us-east-1",
        log_group_name="ua-group",
        log_stream_name="ua-stream",
        auto_create_group="On",
        endpoint=endpoint,
        **extra,
    )
    await output.start()
    await deliver(output, "app", [(time.time(), {"log": "hello"})])
    await output.stop()


@pytest.mark.parametrize("configured", [True, False])
async def test_extra_user_agent_is_on_every_request(
    moto: MotoServer, proxy: FaultProxy, context: PluginContext, configured: bool
) -> None:
    await ship(context, proxy.endpoint, **({"extra_user_agent": EXTRA} if configured else {}))
    agents = [exchange.request.headers.get("user-agent", "") for exchange in proxy.log]
    operations = [exchange.request.operation for exchange in proxy.log]
    assert "PutLogEvents" in operations
    if configured:
        assert agents and all(agent.endswith(" " + EXTRA) for agent in agents), agents
    else:
        assert not any(EXTRA in agent for agent in agents)
    events = moto.client("logs").get_log_events(
        logGroupName="ua-group", logStreamName="ua-stream", startFromHead=True
    )["events"]
    assert [e["message"] for e in events] == ['{"log":"hello"}']
