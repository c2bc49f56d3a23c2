"""The monitoring app's routes against a fake monitor (aiohttp's test server on 127.0.0.1)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from logtide.agent.engine.http_server import build_app, uptime_text
from logtide.agent.engine.prometheus import MetricsView


class FakeMonitor:
    version = "9.9.9"

    def __init__(self) -> None:
        self.reloads = 3
        self.healthy = True
        self.reload_answer: tuple[int, dict[str, object]] = (200, {"reload": "done", "status": 0})
        self.reload_calls = 0

    def view(self) -> MetricsView:
        return MetricsView(
            counters={"null.0": {"proc_records": 4}}, kinds={"null.0": "output"}, uptime=3725
        )

    def health(self) -> bool:
        return self.healthy

    def request_reload(self) -> tuple[int, dict[str, object]]:
        self.reload_calls += 1
        return self.reload_answer


def test_uptime_text_follows_fluent_bit_wording() -> None:
    assert uptime_text(0) == ("Fluent Bit has been running:  0 day, 0 hour, 0 minute and 0 second")
    assert uptime_text(2 * 86400 + 3600 + 120 + 5) == (
        "Fluent Bit has been running:  2 days, 1 hour, 2 minutes and 5 seconds"
    )


async def test_routes() -> None:
    monitor = FakeMonitor()
    async with TestClient(TestServer(build_app(monitor, health_check=True))) as client:
        root = await (await client.get("/")).json()
        assert root["fluent-bit"]["version"] == "9.9.9"
        uptime = await (await client.get("/api/v1/uptime")).json()
        assert uptime["uptime_sec"] == 3725
        metrics = await (await client.get("/api/v1/metrics")).json()
        assert metrics["output"]["null.0"]["proc_records"] == 4
        response = await client.get("/api/v1/metrics/prometheus")
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert 'fluentbit_output_proc_records_total{name="null.0"} 4' in await response.text()

        assert (await client.get("/api/v1/health")).status == 200
        monitor.healthy = False
        response = await client.get("/api/v1/health")
        assert (response.status, await response.text()) == (500, "error\n")

        assert await (await client.get("/api/v2/reload")).json() == {"hot_reload_count": 3}
        assert (await client.delete("/api/v2/reload")).status == 400
        monitor.reload_answer = (400, {"reload": "in progress", "status": -2})
        response = await client.post("/api/v2/reload")
        assert response.status == 400 and (await response.json())["status"] == -2
        assert monitor.reload_calls == 1


async def test_health_is_not_served_without_health_check() -> None:
    async with TestClient(TestServer(build_app(FakeMonitor(), health_check=False))) as client:
        assert (await client.get("/api/v1/health")).status == 404
