"""The ``[SERVICE]`` storage options reach the engine's disk queues, and ``storage.type
filesystem`` on an input needs ``storage.path`` as in Fluent Bit."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.config.validate import PluginSpec
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.engine.disk_queue import DiskQueue
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import Plan, build_plan


def queued_plan(storage: Path, service: str) -> tuple[Plan, list[Event]]:
    """One dummy record into an output that, unlike null, takes a disk queue."""
    plan = build_plan(
        load_string(
            f"[SERVICE]\n    storage.path {storage}\n{service}"
            '[INPUT]\n    Name dummy\n    Samples 1\n    Dummy {"n": 9}\n'
            "    storage.type filesystem\n"
            "[OUTPUT]\n    Name null\n    Match *\n"
        )
    )
    got: list[Event] = []
    [sink] = plan.outputs

    class Queued(sink.cls):
        durable_on_accept = False

        async def flush(self, tag: str, events: list[Event]) -> None:
            got.extend(events)

    plan.outputs[0] = PluginSpec("output", Queued, sink.settings, sink.instance, sink.config)
    return plan, got


async def test_checksum_and_backlog_limit_reach_the_queue_and_a_bad_chunk_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = tmp_path / "storage"
    # A backlog left by an earlier run: three chunks, the middle one damaged on disk.
    earlier = DiskQueue(str(storage / "null.0"), checksum=True)
    earlier.append([("old", [(1.0, {"n": 1})], None), ("old", [(2.0, {"n": 22})], None)])
    earlier.append([("old", [(3.0, {"n": 3})], None)])
    [segment] = (storage / "null.0").glob("*.q")
    segment.write_bytes(segment.read_bytes().replace(b'"n":22', b'"n":27'))

    plan, got = queued_plan(storage, "    storage.checksum On\n    storage.backlog.mem_limit 1k\n")
    engine = Engine(plan, once=True)
    engine.build()
    [runner] = engine._runners
    assert runner.disk is not None
    assert (runner.disk.checksum, runner.disk.backlog_limit) == (True, 1024)
    with caplog.at_level(logging.ERROR, "logtide"):
        assert await engine.run() == 0
    assert [record["n"] for _, record in got] == [1, 3, 9]
    [line] = [r.getMessage() for r in caplog.records if " skipped, " in r.getMessage()]
    assert "CRC32" in line


def test_storage_defaults_match_fluent_bit(tmp_path: Path) -> None:
    plan, _ = queued_plan(tmp_path, "")
    service = plan.service
    assert (service.storage_sync, service.storage_checksum) == ("normal", False)
    assert service.storage_backlog_mem_limit == 5 * 1024 * 1024
    assert (service.storage_max_chunks_up, service.storage_metrics) == (128, False)
    engine = Engine(plan, once=True)
    engine.build()
    [runner] = engine._runners
    assert runner.disk is not None and runner.disk.checksum is False


def test_storage_sync_normal_still_fsyncs_every_queue_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fluent Bit's normal leaves write-back to the kernel; logtide acknowledges a record
    # once it is queued, so every write is fsynced whichever mode is asked for.
    plan, _ = queued_plan(tmp_path, "    storage.sync normal\n")
    engine = Engine(plan, once=True)
    engine.build()
    [runner] = engine._runners
    assert runner.disk is not None
    runner.disk.append([("t", [(1.0, {"n": 1})], None)])
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    runner.disk.append([("t", [(2.0, {"n": 2})], None)])
    [segment] = (tmp_path / "null.0").glob("*.q")
    assert synced == [str(segment)]


def test_filesystem_storage_without_a_storage_path_is_refused() -> None:
    conf = "[INPUT]\n    Name dummy\n    storage.type filesystem\n[OUTPUT]\n    Name null\n"
    with pytest.raises(ConfigError) as info:
        build_plan(load_string(conf))
    assert "input 'dummy.0': storage.type filesystem needs [SERVICE] storage.path" in str(
        info.value
    )
    assert "<string>:3" in str(info.value)
    memory = conf.replace("filesystem", "memory")
    assert build_plan(load_string(memory)).inputs[0].config.storage_type == "memory"


def test_an_input_without_storage_type_inherits_the_services_under_storage_inherit(
    tmp_path: Path,
) -> None:
    """Fluent Bit's ``storage.inherit On``: an input that sets no ``storage.type`` takes
    ``[SERVICE] storage.type``, so ``filesystem`` needs ``storage.path`` there too; one that
    sets its own keeps it."""
    service = "[SERVICE]\n    storage.inherit On\n    storage.type filesystem\n"
    pipeline = "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n"
    with pytest.raises(ConfigError) as info:
        build_plan(load_string(service + pipeline))
    assert "<string>:3: input 'dummy.0': storage.type filesystem (storage.inherit) needs" in str(
        info.value
    )
    own = pipeline.replace("dummy\n", "dummy\n    storage.type memory\n")
    assert build_plan(load_string(service + own)).inputs[0].config.storage_type == "memory"
    no_inherit = service.replace("storage.inherit On", "storage.inherit Off")
    assert build_plan(load_string(no_inherit + pipeline)).inputs
    with_path = service + f"    storage.path {tmp_path}\n"
    assert build_plan(load_string(with_path + pipeline)).service.storage_inherit
