"""kill -9 of the real ``logtide`` while the multiline filter joins Java stack traces whose
lines arrive in different chunks (tail -> multiline java -> S3 and CloudWatch Logs, on moto):
every trace and every single line arrives once, whole, in both.

Each trace is written in two parts with a pause between, so the tail's read (a chunk) often
ends inside it and the filter joins it from lines of two chunks. CloudWatch, behind a fault
proxy, is down for a while, which keeps the tail's checkpoint back while S3 takes
everything: a restart then reads the same bytes again and joins the same traces again, and
both exactly-once outputs must recognise the joined records they already hold.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import Forward, Request, Response, http_error
from tests.support.logapp import cloudwatch_records, s3_records
from tests.support.moto_server import REGION

BUCKET = "traces"
GROUP = "traces"

CONFIG = """\
[SERVICE]
    Flush          0.5
    Grace          10
    Log_Level      info
    HTTP_Server    On
    HTTP_Listen    127.0.0.1
    HTTP_Port      {port}
    scheduler.base 0.2
    scheduler.cap  1
[INPUT]
    Name             tail
    Tag              app
    Path             {work}/logs/*.log
    DB               {work}/tail.db
    Read_from_Head   On
    Refresh_Interval 1
[FILTER]
    Name                   multiline
    Match                  app
    multiline.key_content  log
    multiline.parser       java
    flush_ms               8000
[OUTPUT]
    Name             s3
    Match            app
    bucket           {bucket}
    region           {region}
    endpoint         {moto}
    store_dir        {work}/store
    total_file_size  1M
    upload_timeout   1s
    Retry_Limit      no_limits
[OUTPUT]
    Name               cloudwatch_logs
    Match              app
    region             {region}
    endpoint           {proxy}
    log_group_name     {group}
    log_stream_name    app
    auto_create_group  On
    Retry_Limit        no_limits
"""


def trace(n: int) -> list[str]:
    return [
        f"java.lang.IllegalStateException: order {n} is not valid",
        f"\tat io.shop.Orders.save(Orders.java:{n})",
        "\tat io.shop.Api.handle(Api.java:40)",
        f"Caused by: java.io.IOException: reset {n}",
        "\tat io.shop.Db.read(Db.java:3)",
        "\t... 12 more",
    ]


async def cloudwatch_down(request: Request, forward: Forward) -> Response | None:
    return await http_error(503, "ServiceUnavailableException")(request, forward)


class TraceWriter(threading.Thread):
    """Appends traces (each in two writes, a pause between) and single lines; every burst
    ends with a single line, which closes the trace before it, so no record waits for
    ``flush_ms`` while the writer pauses."""

    def __init__(self, path: Path, seed: int) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.rng = random.Random(seed)
        self.traces = 0
        self.singles = 0
        self.running = threading.Event()
        self.stopping = threading.Event()
        self.idle = threading.Event()

    def expected(self) -> set[str]:
        return {"\n".join(trace(n)) for n in range(self.traces)} | {
            f"INFO single {n}" for n in range(self.singles)
        }

    def burst(self, count: int) -> None:
        rng = self.rng
        with self.path.open("a") as out:
            for _ in range(count):
                if rng.random() < 0.5:
                    lines = trace(self.traces)
                    cut = rng.randint(1, len(lines) - 1)
                    out.write("\n".join(lines[:cut]) + "\n")
                    out.flush()
                    time.sleep(rng.uniform(0.005, 0.05))
                    out.write("\n".join(lines[cut:]) + "\n")
                    self.traces += 1
                else:
                    out.write(f"INFO single {self.singles}\n")
                    self.singles += 1
                out.flush()
            out.write(f"INFO single {self.singles}\n")
            self.singles += 1

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self.running.wait(0.1):
                self.idle.set()
                continue
            self.idle.clear()
            self.burst(self.rng.randint(2, 6))
            time.sleep(self.rng.uniform(0.01, 0.08))

    def pause(self) -> None:
        self.running.clear()
        self.idle.clear()
        self.idle.wait(30)

    def finish(self) -> None:
        self.stopping.set()
        self.join(30)


def _counts(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(record.get("log")) for record in records)


def _kill_loop(world: World, kills: int, seed: int) -> None:
    moto, proxy = world.moto, world.proxy
    s3, logs = world.s3, world.logs
    s3.create_bucket(Bucket=BUCKET)
    port = new_port()
    config = world.work / "fluent-bit.conf"
    config.write_text(
        CONFIG.format(
            port=port,
            work=world.work,
            bucket=BUCKET,
            region=REGION,
            moto=moto.endpoint,
            proxy=proxy.endpoint,
            group=GROUP,
        )
    )
    (world.work / "logs").mkdir()
    writer = TraceWriter(world.work / "logs" / "app.log", seed)
    agent = Agent(config, http_port=port, bucket=BUCKET)
    world.agents.append(agent)
    rng = random.Random(seed)
    writer.start()
    try:
        # 1. CloudWatch down: S3 takes every record while the checkpoint stays at 0; the
        #    restart reads everything again.
        proxy.inject(cloudwatch_down, times=None)
        agent.start()
        writer.running.set()
        time.sleep(1.2)
        writer.pause()
        wanted = writer.expected()
        wait_for(lambda: set(_counts(s3_records(s3, BUCKET))) >= wanted, 60, 0.5, "S3 holds all")
        agent.kill9()
        proxy.clear()
        # 2. kills while the writer writes and CloudWatch comes and goes
        agent.start()
        writer.running.set()
        for _ in range(kills - 1):
            if rng.random() < 0.5:
                proxy.inject(cloudwatch_down, duration=rng.uniform(0.5, 2.0))
            time.sleep(rng.uniform(0.8, 1.5 if kills < 4 else 3.0))
            agent.kill9()
            agent.start()
        time.sleep(0.5)
        writer.pause()
        proxy.clear()
        wanted = writer.expected()
        last: list[tuple[Counter[str], Counter[str]]] = []

        def complete() -> bool:
            pair = (_counts(s3_records(s3, BUCKET)), _counts(cloudwatch_records(logs, GROUP)))
            last[:] = [pair]
            return set(pair[0]) >= wanted and set(pair[1]) >= wanted

        try:
            wait_for(complete, 90, 1.0, "every record in S3 and CloudWatch")
        except AssertionError:
            s3_got, cw_got = last[0] if last else (Counter(), Counter())
            raise AssertionError(
                f"missing in S3: {sorted(wanted - set(s3_got))[:5]}, "
                f"in CloudWatch: {sorted(wanted - set(cw_got))[:5]}\n{agent.log_tail()}"
            ) from None
        code, _ = agent.terminate()
        assert code == 0
        s3_got = _counts(s3_records(s3, BUCKET))
        cw_got = _counts(cloudwatch_records(logs, GROUP))
    finally:
        writer.finish()
    for name, got in (("S3", s3_got), ("CloudWatch", cw_got)):
        assert set(got) == wanted, f"{name}: a trace split or joined with another"
        twice = sorted(record for record, n in got.items() if n > 1)
        assert twice == [], f"{name} holds {len(twice)} records twice: {twice[:3]}"
    report.record(
        f"multiline_s3_once_{kills}",
        kills=kills,
        traces=writer.traces,
        singles=writer.singles,
        lost=len(wanted - set(s3_got)) + len(wanted - set(cw_got)),
        repeated=sum(n - 1 for n in s3_got.values()) + sum(n - 1 for n in cw_got.values()),
    )


def test_kill9_joined_traces_arrive_once_in_s3_and_cloudwatch(world: World) -> None:
    _kill_loop(world, kills=2, seed=17)


@pytest.mark.slow
def test_kill9_joined_traces_arrive_once_in_s3_and_cloudwatch_long(world: World) -> None:
    _kill_loop(world, kills=16, seed=1717)
