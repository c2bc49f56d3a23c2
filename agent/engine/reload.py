"""The supervisor: runs one :class:`Engine` after another across hot reloads, and owns what
outlives a single pipeline (the monitoring server, the health window, the counters).

A reload (``SIGHUP`` or ``POST /api/v2/reload`` with ``Hot_Reload On``) first loads and
validates the changed configuration; an invalid one is logged and the running pipeline goes
on untouched. A valid one stops the running engine the way SIGTERM does (inputs stopped,
queues delivered within ``Grace``, outputs stopped, inputs closed, so tail checkpoints and
s3 ``store_dir`` buffers are settled on disk) and then starts a new engine from the new
plan, which picks up those checkpoints and buffers: no record is lost or read twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from logtide.agent.core.errors import LogtideError
from logtide.agent.core.metrics import Metrics
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.health import HealthCheck, Totals
from logtide.agent.engine.plan import Plan
from logtide.agent.engine.prometheus import MetricsView
from logtide.agent.engine.tasks import TaskOwner

if TYPE_CHECKING:
    # aiohttp costs ~0.2 s and ~14 MiB: imported only when HTTP_Server is on.
    from logtide.agent.engine.http_server import MonitoringServer

log = logging.getLogger("logtide")

HEALTH_SAMPLE_SECONDS = 1.0


class Supervisor:
    """Runs the pipeline described by ``plan`` until stopped, reloading on request.

    ``load_plan`` re-reads and validates the configuration (called in a worker thread);
    ``on_reload`` is called with each new plan before its engine starts (to re-apply the
    log level, for instance).
    """

    def __init__(
        self,
        plan: Plan,
        load_plan: Callable[[], Plan] | None = None,
        *,
        once: bool = False,
        version: str = "0",
        on_reload: Callable[[Plan], None] | None = None,
    ) -> None:
        self.plan = plan
        self.once = once
        self.version = version
        self.metrics = Metrics()
        self.engine: Engine | None = None
        self.reloads = 0
        self.started_at = time.time()
        self.tasks = TaskOwner(log)
        self._started = time.monotonic()
        self._load_plan = load_plan
        self._on_reload = on_reload
        self._next_plan: Plan | None = None
        self._reloading = False
        self._said_disabled = False
        self._stopping = False
        self._server: MonitoringServer | None = None
        self._server_key: tuple[str, int, bool] | None = None
        self._health: HealthCheck | None = None
        self._sampling = False

    # -- what the monitoring server reads ---------------------------------------------------

    def view(self) -> MetricsView:
        kinds = {spec.instance: spec.kind for spec in self.plan.specs}
        return MetricsView(
            counters=self.metrics.snapshot(),
            kinds=kinds,
            gauges=self.metrics.gauges(),
            start_time=self.started_at,
            uptime=time.monotonic() - self._started,
            version=self.version,
            reloads=self.reloads,
        )

    def _totals(self) -> Totals:
        return Totals.of(self.metrics.snapshot(), [spec.instance for spec in self.plan.outputs])

    def health(self) -> bool:
        return self._health is None or self._health.healthy(self._totals())

    # -- control ----------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stopping = True
        if self.engine is not None:
            self.engine.request_stop()

    def request_reload(self) -> tuple[int, dict[str, object]]:
        """Start a reload; returns Fluent Bit's HTTP status and body for ``/api/v2/reload``."""
        if self.once or self._load_plan is None or not self.plan.service.hot_reload:
            # said once: anyone who reaches the port must not be able to flood the log
            if not self._said_disabled:
                self._said_disabled = True
                log.warning("[reload] hot reload is not enabled (Hot_Reload Off)")
            return 200, {"reload": "not enabled", "status": -1}
        if self._reloading or self._stopping:
            return 400, {"reload": "in progress", "status": -2}
        self._reloading = True
        self.tasks.spawn(self._reload(), "reload")
        return 200, {"reload": "done", "status": 0}

    async def _reload(self) -> None:
        assert self._load_plan is not None
        log.info("[reload] reloading the configuration")
        try:
            plan = await asyncio.to_thread(self._load_plan)
        except (LogtideError, OSError) as exc:
            self._reloading = False
            log.error("[reload] new configuration rejected, the running one continues: %s", exc)
            return
        if self._stopping or self.engine is None:
            self._reloading = False
            return
        self._next_plan = plan
        self.engine.request_stop()

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self) -> int:
        """Run engines until stopped; the exit code is the last engine's."""
        try:
            await self._apply_service(self.plan)
            while True:
                self.engine = Engine(self.plan, once=self.once, metrics=self.metrics)
                if self._stopping:
                    self.engine.request_stop()
                code = await self.engine.run()
                if self._next_plan is None or self._stopping:
                    return code
                self.plan, self._next_plan = self._next_plan, None
                self.reloads += 1
                try:
                    if self._on_reload is not None:
                        self._on_reload(self.plan)
                except LogtideError as exc:  # a Log_File it cannot open: the old one stays
                    log.error("%s", exc)
                try:
                    await self._apply_service(self.plan)
                except LogtideError as exc:
                    log.error("%s", exc)
                self._reloading = False
                log.info("[reload] pipeline restarted (reload #%d)", self.reloads)
        finally:
            if self._server is not None:
                await self._server.stop()
            await self.tasks.close()

    async def _apply_service(self, plan: Plan) -> None:
        """(Re)start the monitoring server and health window when their settings changed."""
        service = plan.service
        self._health = None
        if service.health_check:
            self._health = HealthCheck(
                service.hc_errors_count, service.hc_retry_failure_count, service.hc_period
            )
            self._health.sample(self._totals())
            if not self._sampling:
                self._sampling = True
                self.tasks.spawn(self._sample_health(), "health-sampler")
        key = (service.http_listen, service.http_port, service.health_check)
        wanted = service.http_server
        if self._server is not None and (not wanted or key != self._server_key):
            await self._server.stop()
            self._server = None
        if wanted and self._server is None:
            from logtide.agent.engine.http_server import MonitoringServer

            server = MonitoringServer(
                self, key[0], key[1], health_check=key[2], spawn=self.tasks.spawn
            )
            await server.start()
            self._server, self._server_key = server, key

    async def _sample_health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_SAMPLE_SECONDS)
            if self._health is not None:
                self._health.sample(self._totals())
