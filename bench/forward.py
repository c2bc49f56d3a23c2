"""Scenario ``fwd`` of bench/run.py: two logtide processes joined by the Forward protocol.

The aggregator (``forward`` input -> null, ``Flush 1``) runs first and keeps running;
the edge (tail, docker parser -> ``forward`` output with ``Require_ack_response On``) runs
``--once``, so it exits only after the aggregator acknowledged every chunk. Two rows:

``fwd-out``  the edge: records/s over its wall time, records per CPU-second, peak RSS
``fwd-in``   the aggregator over the same records: its CPU-seconds (from /proc) and peak
             RSS; records/s is the chain's (the edge's wall time)
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path

from measure import LOGTIDE, Result, child_env, cpu_seconds, peak_rss_mib, run_best
from workload import write_config, write_logs

FORWARD_OUTPUT = """\
[OUTPUT]
    Name                  forward
    Match                 *
    Host                  127.0.0.1
    Port                  {port}
    Require_ack_response  On
    Retry_Limit           False
"""

# The receiver acknowledges a chunk once its outputs flushed it; its outputs flush a chunk
# whose sender waits for the ack at once (Ack.awaited), so Fluent Bit's default Flush 1
# does not pace the chain.
AGGREGATOR = """\
[SERVICE]
    Flush      1
    Log_Level  warn
[INPUT]
    Name    forward
    Listen  127.0.0.1
    Port    {port}
[OUTPUT]
    Name   null
    Match  *
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("fwd: the aggregator did not start listening")


def scenario_forward(lines: int, repeat: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-fwd-") as tmp:
        root = Path(tmp)
        port = _free_port()
        aggregator_conf = root / "aggregator.conf"
        aggregator_conf.write_text(AGGREGATOR.format(port=port))
        conf = write_config(root, "null", "docker")
        text = conf.read_text()
        conf.write_text(text[: text.index("[OUTPUT]")] + FORWARD_OUTPUT.format(port=port))
        write_logs(root / "logs" / "app.log", lines, "docker")
        aggregator = subprocess.Popen(
            [LOGTIDE, "-c", str(aggregator_conf)],
            cwd=root,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _listening(port)
            before = cpu_seconds(aggregator.pid)
            edge = run_best(conf, lines, "fwd-out", repeat)
            spent = cpu_seconds(aggregator.pid) - before
            peak = peak_rss_mib(aggregator.pid)
        finally:
            aggregator.terminate()
            aggregator.wait(30)
        runs = max(1, repeat)
        edge.note = "tail -> forward, Require_ack_response On (PackedForward)"
        receiver = Result(
            "fwd-in",
            lines,
            wall_s=edge.wall_s,
            cpu_s=round(spent / runs, 2),
            peak_rss_mib=round(peak, 1),
            records_per_s=edge.records_per_s,
            records_per_cpu_s=round(lines * runs / spent) if spent else 0,
            note=f"forward -> null; CPU averaged over {runs} run(s)",
        )
        return [edge, receiver]
