"""A stop that comes while an output's start is opening its state (a second agent waiting
for the first one's s3 ``store_dir`` or cloudwatch_logs journal, or a slow disk) ends the
engine, and what the open in its worker thread took is let go: an engine run as a library
(or reloaded) in the same process could otherwise never take that lock again. The open is
held in its thread until after the stop, so the close has to wait for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan
from logtide.sinks.cloudwatch_logs.journal import Journal
from logtide.sinks.s3.store import Store
from tests.support.flock_holder import other_gets_it
from tests.support.moto_server import MotoServer

CONFIG = """
[SERVICE]
    Flush 0.2
    Grace 5
[INPUT]
    Name  dummy
[OUTPUT]
    Name            {name}
    Match           *
    region          us-east-1
    endpoint        {endpoint}
    {settings}
"""

SETTINGS = {
    "s3": "bucket b\n    store_dir {folder}",
    "cloudwatch_logs": "log_group_name g\n    log_stream_name s\n    journal_dir {folder}",
}


def _held_open(
    monkeypatch: pytest.MonkeyPatch, cls: Any, entered: threading.Event, go: threading.Event
) -> None:
    real: Callable[[Any], Any] = cls.open

    def slow_open(self: Any) -> Any:
        entered.set()
        go.wait(30)
        return real(self)

    monkeypatch.setattr(cls, "open", slow_open)


@pytest.mark.parametrize("name", ["s3", "cloudwatch_logs"])
async def test_a_stop_during_an_outputs_open_lets_its_lock_go(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    folder = tmp_path / "state"
    entered, go = threading.Event(), threading.Event()
    _held_open(monkeypatch, Store if name == "s3" else Journal, entered, go)
    text = CONFIG.format(
        name=name, endpoint=moto.endpoint, settings=SETTINGS[name].format(folder=folder)
    )
    engine = Engine(build_plan(load_string(text)), once=False)
    run = asyncio.ensure_future(engine.run())
    try:
        await asyncio.to_thread(entered.wait, 30)
        engine.request_stop()
        # The open goes on after the stop: the output's stop must wait for it to end.
        asyncio.get_running_loop().call_later(0.3, go.set)
        assert await asyncio.wait_for(run, 20) == 0
    finally:
        go.set()
        if not run.done():
            run.cancel()
    locks = list(folder.rglob("*.lock"))
    assert locks, "the open took no lock"
    assert all(other_gets_it(lock) for lock in locks)
