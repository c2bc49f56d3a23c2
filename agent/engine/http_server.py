"""The monitoring server (``HTTP_Server On``): Fluent Bit's endpoints on aiohttp.

=============================  ==========================================================
``GET /``                      build information
``GET /api/v1/uptime``         ``{"uptime_sec": N, "uptime_hr": "..."}``
``GET /api/v1/health``         ``ok`` (200) or ``error`` (500); only with ``Health_Check On``
``GET /api/v1/metrics``        counters per plugin instance, as JSON
``GET /api/v1/metrics/prometheus``, ``GET /api/v2/metrics/prometheus``  Prometheus text
``POST|PUT /api/v2/reload``    hot reload; ``GET`` gives ``{"hot_reload_count": N}``
=============================  ==========================================================

Slow or idle clients cannot hold the server: the request line and headers must arrive within
:data:`HEADER_TIMEOUT` of the connection (or of the previous response, on a kept-alive
connection), a body (no endpoint reads one) is drained for at most :data:`BODY_TIMEOUT`, and
the listener (:mod:`http_listener`) caps the connections and backs off when descriptors run
out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import orjson
from aiohttp import web

from logtide.agent.core.errors import PluginError
from logtide.agent.engine.http_listener import Listener, bind, max_connections
from logtide.agent.engine.prometheus import MetricsView, metrics_json, prometheus_text

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEADER_TIMEOUT = 5.0
BODY_TIMEOUT = 2.0
# connections still open at stop are idle or slow: our handlers answer at once
SHUTDOWN_TIMEOUT = 1.0
Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]
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
    """Starts and stops the server; lives as long as the supervisor, across reloads.

    ``spawn`` starts the accept loop as a task its owner (the supervisor) answers for.
    """

    def __init__(
        self, monitor: Monitor, listen: str, port: int, *, health_check: bool, spawn: Spawn
    ) -> None:
        self.listen = listen
        self.port = port
        self._spawn = spawn
        # keepalive_timeout also runs from the moment a connection is made: it is the
        # header-read timeout; lingering_time bounds the reading of an unread body.
        self._runner = web.AppRunner(
            build_app(monitor, health_check=health_check),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=HEADER_TIMEOUT,
            lingering_time=BODY_TIMEOUT,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        self._listener: Listener | None = None
        self._accepting: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        try:
            sock = bind(self.listen, self.port)
        except OSError as exc:
            await self._runner.cleanup()
            raise PluginError(
                f"[http_server] cannot listen on {self.listen}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._listener = Listener(sock, server, log, max_connections())
        self._accepting = self._spawn(self._listener.serve(), "http_server-accept")
        log.info("listen iface=%s tcp_port=%d", self.listen, self.port)

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.wait((self._accepting,))
            self._accepting = None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.sock.close()
        await self._runner.cleanup()
        if listener is not None:
            listener.close_all()
