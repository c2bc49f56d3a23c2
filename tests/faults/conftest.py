"""Fixtures of the fault suite: moto behind the fault proxy, and the article's agent."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults.agent import Agent, Overrides, fast_article, new_port, wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.logapp import (
    AppWriter,
    Tally,
    ca_written,
    cloudwatch_records,
    other_written,
    s3_records,
    tally,
)
from tests.support.moto_server import MotoServer

BUCKET = "orders"
GROUP = "fluent-bit-cloudwatch-demo"


@dataclass
class World:
    """One test's moto, proxy, folders and agent processes."""

    work: Path
    moto: MotoServer
    proxy: FaultProxy
    agents: list[Agent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s3 = self.moto.client("s3")
        self.logs = self.moto.client("logs")
        self.s3.create_bucket(Bucket=BUCKET)

    @property
    def log_dir(self) -> Path:
        return self.work / "logs"

    def agent(self, extra: Overrides | None = None, *, start: bool = True) -> Agent:
        port = new_port()
        config = fast_article(self.work, self.proxy.endpoint, http_port=port, extra=extra)
        agent = Agent(config, http_port=port, bucket=BUCKET)
        self.agents.append(agent)
        return agent.start() if start else agent

    def writer(self, name: str, **kwargs: Any) -> AppWriter:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return AppWriter(self.log_dir / name, **kwargs)

    def linked_writer(self, pod: int, **kwargs: Any) -> AppWriter:
        """A container's log laid out as kubelet lays it out: the file under
        ``pods/<pod>/<container>/`` (where it is rotated) and a link to it in ``logs/``,
        which the tail's glob matches. The file is named by the restart count, so each
        writer's records name a writer of their own."""
        folder = self.work / "pods" / f"shop_orders-{pod}_uid-{pod}" / "app"
        folder.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        writer = AppWriter(folder / f"{pod}.log", **kwargs)
        (self.log_dir / f"orders-{pod}_shop_app-{pod:064x}.log").symlink_to(writer.path)
        return writer

    def s3_tally(self, writers: list[AppWriter]) -> Tally:
        return tally(ca_written(writers), s3_records(self.s3, BUCKET))

    def cw_tally(self, writers: list[AppWriter]) -> Tally:
        return tally(other_written(writers), cloudwatch_records(self.logs, GROUP))

    def wait_delivered(self, writers: list[AppWriter], timeout: float) -> tuple[Tally, Tally]:
        """Poll until neither destination misses a line (or fail with both tallies)."""
        last: list[tuple[Tally, Tally]] = []

        def complete() -> bool:
            pair = (self.s3_tally(writers), self.cw_tally(writers))
            last[:] = [pair]
            return not pair[0].lost and not pair[1].lost

        try:
            wait_for(complete, timeout, interval=1.0, what="every line delivered")
        except AssertionError:
            s3, cw = last[0] if last else (None, None)
            logs = "\n".join(a.log_tail() for a in self.agents)
            raise AssertionError(
                f"lines missing:\n  s3: {s3 and s3.summary()}\n  cw: {cw and cw.summary()}\n"
                f"agent log:\n{logs}"
            ) from None
        return last[0]

    @staticmethod
    def kill_repeatedly(
        agent: Agent, writers: list[AppWriter], kills: int, rng: random.Random, *, rotate: bool
    ) -> None:
        """kill -9 the agent ``kills`` times, 1-4 s apart, and start it again at once; with
        ``rotate``, each writer rotates twice while it is down (kubelet's gzip then takes
        the generation it was reading)."""
        for _ in range(kills):
            time.sleep(rng.uniform(1.0, 4.0))
            agent.kill9()
            if rotate:
                for writer in writers:
                    writer.rotate()
                    writer.rotate()
            agent.start()

    def finish(self, writers: list[AppWriter], agent: Agent) -> tuple[int, Tally, Tally]:
        """Stop the writers, wait until both destinations hold every line, stop the agent:
        its exit code and the final S3 and CloudWatch tallies."""
        for writer in writers:
            writer.stop()
        self.wait_delivered(writers, timeout=120)
        code, _ = agent.terminate()
        return code, self.s3_tally(writers), self.cw_tally(writers)


@pytest.fixture
def world(tmp_path: Path, moto: MotoServer) -> Iterator[World]:
    with FaultProxy(moto.endpoint) as proxy:
        state = World(tmp_path, moto, proxy)
        try:
            yield state
        finally:
            for agent in state.agents:
                agent.stop()
