"""A Refresh_Interval shorter than a pass over the files makes every pass end in a rescan.
Such a pass could finish without suspending once, so the follow loop never let the event
loop run: SIGTERM was never handled and the real process had to be killed with -9. The
loop now yields after each rescan: the agent delivers, warns about the setting, and stops
within its Grace."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.cli import delivered_logs, start_logtide, tail_workdir, wait_until

CONF = """\
[SERVICE]
    Flush        0.2
    Grace        2
[INPUT]
    Name              tail
    Tag               app
    Path              {log}/*.log
    DB                {state}/tail.db
    Read_from_Head    On
    Refresh_Interval  0.000000001
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""


def test_sigterm_stops_an_agent_that_rescans_on_every_pass(tmp_path: Path) -> None:
    log, _, out, conf = tail_workdir(tmp_path, CONF)
    (log / "app.log").write_text("".join(f"line {n}\n" for n in range(50)))
    agent = start_logtide("-c", str(conf))
    try:
        wait_until(lambda: len(delivered_logs(out)) == 50, "the 50 lines to be delivered")
        (log / "late.log").write_text("written after the start\n")
        wait_until(lambda: len(delivered_logs(out)) == 51, "a file the rescans found")
        agent.send_signal(signal.SIGTERM)
        try:
            _, stderr = agent.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("SIGTERM did not stop the agent") from None
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0, stderr
    assert "Refresh_Interval 1e-09s rescans Path on nearly every pass" in stderr
