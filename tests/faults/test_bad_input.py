"""The bad-input corpus through the real agent: no crash, every case counted, and files
beside the bad ones keep flowing."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import report
from tests.faults.agent import Agent, new_port, wait_for
from tests.faults.corpus.generate import build
from tests.support.cli import LOGTIDE
from tests.support.logapp import AppWriter, all_written, file_records, tally


def corpus_config(work: Path, port: int) -> Path:
    (work / "out").mkdir(parents=True, exist_ok=True)
    path = work / "fluent-bit.conf"
    path.write_text(
        f"""[SERVICE]
    Flush 0.2
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {port}
[PARSER]
    Name docker
    Format json
[PARSER]
    Name dummy
    Format json
[INPUT]
    Name tail
    Tag order
    Path {work / "logs" / "*.log"}
    Parser docker
    Path_Key file
    DB {work / "tail.db"}
    Read_from_Head On
    Skip_Long_Lines On
    Buffer_Max_Size 1M
    Refresh_Interval 1
[FILTER]
    Name parser
    Match order
    Parser dummy
    Key_Name log
    Reserve_Data True
[OUTPUT]
    Name file
    Match *
    Path {work / "out"}
    File out.log
"""
    )
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="the unreadable case below assumes root")
def test_bad_input_corpus_is_counted_and_never_stops_the_pipeline(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    expected = build(logs)
    # Tests run as root, which reads any file whatever its mode: a file we cannot read is
    # stood in for by the dangling symlink and the directory named *.log built above.
    port = new_port()
    agent = Agent(corpus_config(tmp_path, port), http_port=port, bucket="unused").start()
    try:
        per_file: Counter[str] = Counter()

        def settled() -> bool:
            per_file.clear()
            for record in file_records(tmp_path / "out"):
                per_file[Path(record.get("file", "?")).name] += 1
            return all(
                per_file[name] >= count for name, count in expected.items() if count is not None
            )

        wait_for(settled, 60, what="the corpus delivered")
        # Other files keep flowing after the bad ones: a new one, and more in good.log.
        later = AppWriter(logs / "later.log", seed=9)
        later.write(200)
        wait_for(
            lambda: not tally(all_written([later]), file_records(tmp_path / "out")).lost,
            30,
            what="a file written after the corpus",
        )
        with (logs / "no-eol.log").open("ab") as handle:
            handle.write(b"\n")
        wait_for(lambda: settled() and per_file["no-eol.log"] == 3, 20, what="the last line")
        metrics = agent.metrics()["input"]["tail.0"]
        delivered = len(file_records(tmp_path / "out"))
        assert agent.alive()
    finally:
        agent.stop()
    report.record(
        "bad_input",
        files=len(expected) + 5,
        records_delivered=delivered,
        records_read=metrics["records"],
        long_lines_skipped=metrics.get("long_lines_skipped", 0),
        invalid_utf8=metrics.get("invalid_utf8", 0),
    )
    for name, count in expected.items():
        if count is not None:
            assert per_file[name] == count, (name, per_file[name], count)
    assert per_file["no-eol.log"] == 3
    assert metrics["records"] == delivered
    assert metrics.get("long_lines_skipped", 0) >= 1
    assert metrics.get("invalid_utf8", 0) >= 1


PR_CAPBSET_DROP = 24


def _without_dac_override() -> None:
    """preexec_fn: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so
    the root-run agent is refused a mode-000 file as any other user would be."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_once_exits_1_naming_a_file_it_could_not_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "good.log").write_text("".join(f"line {n}\n" for n in range(10)))
    secret = logs / "secret.log"
    secret.write_text("never read\n")
    secret.chmod(0)
    as_root = os.geteuid() == 0
    if as_root:
        try:
            subprocess.run([sys.executable, "-c", ""], preexec_fn=_without_dac_override, check=True)
        except (subprocess.SubprocessError, OSError):
            pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no CAP_SETPCAP)")
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        f"[INPUT]\n    Name tail\n    Path {logs}/*.log\n    Read_from_Head On\n"
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}\n    File out.log\n"
        "    Format plain\n"
    )
    result = subprocess.run(
        [LOGTIDE, "-c", str(config), "--once", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_without_dac_override if as_root else None,
    )
    assert result.returncode == 1, result.stderr
    naming = [line for line in result.stderr.splitlines() if "secret.log" in line]
    assert len(naming) == 1, result.stderr
    assert "cannot read 1 file(s)" in naming[0] and "Permission denied" in naming[0]
    # the readable file was delivered all the same
    assert len((tmp_path / "out.log").read_text().splitlines()) == 10
