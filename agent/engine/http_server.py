"""The monitoring server (``HTTP_Server On``): Fluent Bit's endpoints on aiohttp.

=============================  ==========================================================
``GET /``                      build information
``GET /api/v1/uptime``         ``{"uptime_sec": N, "uptime_hr": "..."}``
``GET /api/v1/health``         ``ok`` (200) or ``error`` (500); only with ``Health_Check On``
``GET /api/v1/metrics``        counters per plugin instance, as JSON
``GET /api/v1/metrics/prometheus``, ``GET /api/v2/metrics/prometheus``  Prometheus text
``POST|PUT /api/v2/reload``    hot reload; ``GET`` gives ``{"hot_reload_count": N}``
=============================  ==========================================================
"""

from __future__ import annotations

import logging
from typing import Protocol

import orjson
from aiohttp import web

from agent.core.errors import PluginError
from agent.engine.prometheus import MetricsView, metrics_json, prometheus_text

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("logtide.http_server")


class Monitor(Protocol):
    """What the server reports on and controls (the :class:`Supervisor`)."""

    version: str
    reloads: int

    def view(self) -> MetricsView: ...

    def health(self) -> bool: ...

    def request_reload(self) -> tuple[int, dict[str, object]]: ...


def uptime_text(seconds: int) -> str:
    """Fluent Bit's human-readable uptime, with its spacing and pluralisation."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)

    def unit(value: int, name: str) -> str:
        return f"{value} {name}{'s' if value > 1 else ''}"

    return (
        f"Fluent Bit has been running:  {unit(days, 'day')}, {unit(hours, 'hour')}, "
        f"{unit(minutes, 'minute')} and {unit(secs, 'second')}"
    )


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def build_app(monitor: Monitor, *, health_check: bool) -> web.Application:
    async def root(_: web.Request) -> web.Response:
        flags = ["FLB_HAVE_METRICS", "FLB_HAVE_HTTP_SERVER", "FLB_HAVE_SQLDB"]
        flags += ["FLB_HAVE_STREAM_PROCESSOR", "FLB_HAVE_AWS", "FLB_HAVE_RECORD_ACCESSOR"]
        return _json(
            {
                "fluent-bit": {"version": monitor.version, "edition": "Community", "flags": flags},
                "logtide": {"version": monitor.version},
            }
        )

    async def uptime(_: web.Request) -> web.Response:
        seconds = int(monitor.view().uptime)
        return _json({"uptime_sec": seconds, "uptime_hr": uptime_text(seconds)})

    async def health(_: web.Request) -> web.Response:
        if monitor.health():
            return web.Response(text="ok\n")
        return web.Response(text="error\n", status=500)

    async def metrics(_: web.Request) -> web.Response:
        return _json(metrics_json(monitor.view()))

    async def prometheus_v1(_: web.Request) -> web.Response:
        return _prometheus(prometheus_text(monitor.view(), v2=False))

    async def prometheus_v2(_: web.Request) -> web.Response:
        return _prometheus(prometheus_text(monitor.view(), v2=True))

    async def reload(request: web.Request) -> web.Response:
        if request.method == "GET":
            return _json({"hot_reload_count": monitor.reloads})
        if request.method not in ("POST", "PUT"):
            return web.Response(status=400)
        status, payload = monitor.request_reload()
        return _json(payload, status)

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/api/v1/uptime", uptime)
    if health_check:
        app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/metrics", metrics)
    app.router.add_get("/api/v1/metrics/prometheus", prometheus_v1)
    app.router.add_get("/api/v2/metrics/prometheus", prometheus_v2)
    app.router.add_route("*", "/api/v2/reload", reload)
    return app


def _prometheus(text: str) -> web.Response:
    response = web.Response(body=text.encode())
    response.headers["Content-Type"] = PROMETHEUS_CONTENT_TYPE
    return response


class MonitoringServer:
    """Starts and stops the aiohttp site; lives as long as the supervisor, across reloads."""

    def __init__(self, monitor: Monitor, listen: str, port: int, *, health_check: bool) -> None:
        self.listen = listen
        self.port = port
        self._runner = web.AppRunner(
            build_app(monitor, health_check=health_check), access_log=None, handle_signals=False
        )

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise PluginError(
                f"[http_server] cannot listen on {self.listen}:{self.port}: {exc.strerror}"
            ) from None
        log.info("listen iface=%s tcp_port=%d", self.listen, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
