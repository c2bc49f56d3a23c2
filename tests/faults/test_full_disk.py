"""store_dir on a full filesystem (a 1 MB tmpfs): a clear error, backpressure instead of
loss, recovery once space returns, and no torn line in any S3 object."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.faults import report
from tests.faults.agent import wait_for
from tests.faults.conftest import BUCKET, World
from tests.support.fault_proxy import refuse


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s filesystem with one file."""
    filler = folder / "filler"
    block = b"\0" * 4096
    with filler.open("wb", buffering=0) as handle:
        while True:
            try:
                handle.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def torn_lines(world: World) -> int:
    torn = 0
    for page in world.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            body = world.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            for line in body.splitlines():
                try:
                    orjson.loads(line)
                except orjson.JSONDecodeError:
                    torn += 1
    return torn


def test_store_dir_on_a_full_filesystem(world: World) -> None:
    with tmpfs(world.work / "store", "1m") as store:
        writers = [world.writer("app-0.log", rate=100, seed=41, ca_ratio=0.6)]
        agent = world.agent()
        agent.wait_files(1)
        writers[0].start()
        time.sleep(2)
        # S3 unreachable, so uploads cannot free space either: the disk stays full.
        world.proxy.inject(refuse(), duration=10, operation="")
        filler = fill(store)
        wait_for(lambda: "No space left on device" in agent.log_text(), 30, what="an ENOSPC error")
        time.sleep(6)
        paused_rss = agent.rss()
        os.unlink(filler)
        world.proxy.clear()
        time.sleep(2)
        writers[0].stop()
        s3, cw = world.wait_delivered(writers, timeout=120)
        code, _ = agent.terminate()
        s3, cw = world.s3_tally(writers), world.cw_tally(writers)
        torn = torn_lines(world)
        errors = [line for line in agent.log_text().splitlines() if "No space left" in line]
    report.record(
        "full_disk",
        tmpfs="1m",
        lines_written=writers[0].written.total,
        s3_lost=len(s3.lost),
        s3_duplicated=s3.duplicates,
        s3_torn_lines=torn,
        cw_lost=len(cw.lost),
        enospc_log_lines=len(errors),
        rss_while_full_mb=round(paused_rss / 2**20, 1),
    )
    assert code == 0
    assert errors and all("s3" in line for line in errors), errors[:3]
    assert torn == 0
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0, s3.summary()


def test_a_restart_on_a_full_disk_keeps_running_and_loses_nothing(world: World) -> None:
    """The agent's whole state folder (tail DB, S3 store_dir, CloudWatch journal), as the
    DaemonSet's /var/lib/logtide, is full when the agent restarts after a kill -9. Opening
    the S3 store and the CloudWatch journal rewrites each in a new file; that used to fail
    with ENOSPC and stop the agent at start (exit 1: a crash loop for as long as the disk
    stays full, while kubelet rotates the logs away). Now it starts, says that it appends to
    the files as they are, holds the lines back, and delivers each once after space
    returns."""
    state = world.work / "state"
    extra = {
        "tail": {"DB": str(state / "tail.db")},
        "s3": {"store_dir": str(state / "store")},
    }
    with tmpfs(state, "4m"):
        writer = world.writer("app-0.log", rate=100, seed=43, ca_ratio=0.5)
        agent = world.agent(extra)
        agent.wait_files(1)
        writer.start()
        wait_for(
            lambda: list(state.glob("tail.db.cloudwatch_logs/*.journal")), 30, what="a journal"
        )
        time.sleep(2)
        agent.kill9()
        filler = fill(state)
        agent.start()
        time.sleep(5)
        assert agent.alive(), agent.log_tail()
        held_back = agent.log_text().split("---- start 1")[1]
        os.unlink(filler)
        time.sleep(2)
        code, s3, cw = world.finish([writer], agent)
    report.record(
        "restart_full_disk",
        lines_written=writer.written.total,
        **report.tallies(s3, cw),
    )
    assert code == 0
    assert "Traceback" not in agent.log_text()
    # The S3 store opens first, while nothing has freed space yet; what starts after it
    # may find room its leftover upload freed.
    rewrite = [line for line in held_back.splitlines() if "cannot rewrite" in line]
    assert any("journal.json" in line and "No space left" in line for line in rewrite), rewrite
    assert not s3.lost and not cw.lost
    assert s3.duplicates == 0, s3.summary()
    assert cw.duplicates == 0, cw.summary()


def test_storage_path_on_a_disk_that_fills_loses_nothing(world: World) -> None:
    """``storage.path`` fills while lines flow. An append the disk cut short used to stay in
    the segment, and the complete retry went after it: the reader met the torn frame, skipped
    it, and every chunk after was never delivered, though their checkpoints had moved (lost
    for good). The append is now taken back on failure; the ``committed`` file's rewrite,
    refused too, is tried again rather than ending delivery from disk."""
    queue = world.work / "queue"
    extra = {"SERVICE": {"storage.path": str(queue)}}
    with tmpfs(queue, "1m"):
        writer = world.writer("app-0.log", rate=150, seed=44, ca_ratio=0.5)
        agent = world.agent(extra)
        agent.wait_files(1)
        writer.start()
        time.sleep(2)
        filler = fill(queue)
        wait_for(lambda: "No space left on device" in agent.log_text(), 30, what="an ENOSPC error")
        time.sleep(4)
        os.unlink(filler)
        time.sleep(2)
        code, s3, cw = world.finish([writer], agent)
    report.record(
        "storage_path_full_disk",
        lines_written=writer.written.total,
        s3_lost=len(s3.lost),
        cw_lost=len(cw.lost),
    )
    assert code == 0
    assert "Traceback" not in agent.log_text()
    assert not s3.lost and not cw.lost


def test_a_gzip_store_that_filled_its_disk_drains_itself(world: World) -> None:
    """The disk fills while the store holds a buffer not yet due for upload (something else
    holds the rest of the disk, and keeps it). With ``compression gzip`` the upload first
    wrote the compressed body beside its buffer: that failed with ENOSPC at every retry, so
    nothing was uploaded, no space was freed, and the pipeline stayed stopped for good. The
    body is now built in memory when the disk has no room for it."""
    store = world.work / "store"
    extra = {"s3": {"store_dir": str(store), "compression": "gzip", "upload_timeout": "8s"}}
    with tmpfs(store, "1m"):
        writer = world.writer("app-0.log", rate=100, seed=45, ca_ratio=0.9)
        agent = world.agent(extra)
        agent.wait_files(1)
        writer.start()
        wait_for(lambda: list(store.glob("*/*.jsonl")), 30, what="a buffer in the store")
        time.sleep(1)
        fill(store)  # kept: only uploads free space from here on
        wait_for(lambda: "No space left on device" in agent.log_text(), 30, what="an ENOSPC error")
        code, s3, _ = world.finish([writer], agent)
    report.record(
        "gzip_store_full_disk",
        lines_written=writer.written.total,
        s3_lost=len(s3.lost),
        s3_duplicated=s3.duplicates,
    )
    assert code == 0
    assert "Traceback" not in agent.log_text()
    assert not s3.lost
    assert s3.duplicates == 0, s3.summary()
