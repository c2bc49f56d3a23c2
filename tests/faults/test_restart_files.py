"""Files that appear or rotate while the agent is down, or before their first checkpoint is
written, are read from their head on the next start (the real process, a file output)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.agent import Agent, new_port, wait_for
from tests.support.logapp import AppWriter, all_written, file_records, tally


def plain_config(work: Path, port: int, *, grace: str = "5") -> Path:
    folder = work / "conf"
    folder.mkdir(parents=True, exist_ok=True)
    (work / "out").mkdir(exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    path = folder / "fluent-bit.conf"
    path.write_text(
        f"""[SERVICE]
    Flush 0.2
    Grace {grace}
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {port}
[PARSER]
    Name docker
    Format json
[INPUT]
    Name tail
    Tag app
    Path {work / "logs" / "*.log"}
    Parser docker
    DB {work / "tail.db"}
    Refresh_Interval 1
    Rotate_Wait 2
[FILTER]
    Name parser
    Match app
    Key_Name log
    Parser docker
[OUTPUT]
    Name file
    Match *
    Path {work / "out"}
    File out.jsonl
"""
    )
    return path


def start_past_its_first_scan(agent: Agent, work: Path) -> None:
    """Start ``agent`` and wait until its first scan is over. The monitoring server answers
    before the tail's first scan; a file made in between would count as found at start and
    be read from its end (Read_from_Head Off), so an empty file the first scan must open
    marks the moment from which new files are found by a rescan."""
    (work / "logs" / "marker.log").touch()
    agent.start()
    agent.wait_files(1)


def test_files_born_while_the_agent_is_down_are_read_from_their_head(tmp_path: Path) -> None:
    port = new_port()
    agent = Agent(plain_config(tmp_path, port), http_port=port, bucket="unused")
    try:
        start_past_its_first_scan(agent, tmp_path)
        first = AppWriter(tmp_path / "logs" / "a.log", rotation="rename", late_lines=0)
        first.write(20)
        wait_for(lambda: len(file_records(tmp_path / "out")) >= 20, 30, what="first lines")
        agent.kill9()
        # While the agent is down: a new container starts, the old one rotates.
        second = AppWriter(tmp_path / "logs" / "b.log")
        second.write(30)
        first.rotate()
        first.write(25)
        agent.start()
        writers = [first, second]

        def complete() -> bool:
            return not tally(all_written(writers), file_records(tmp_path / "out")).lost

        wait_for(complete, 30, what="lines written while down")
        first.stop()
        second.stop()
    finally:
        agent.stop()


def test_a_kill_before_the_first_checkpoint_loses_nothing(tmp_path: Path) -> None:
    """The row of a file found by a rescan must be on disk before anything is read from it:
    otherwise a restart finds the file unknown and starts at its end."""
    port = new_port()
    agent = Agent(plain_config(tmp_path, port), http_port=port, bucket="unused")
    try:
        start_past_its_first_scan(agent, tmp_path)
        writer = AppWriter(tmp_path / "logs" / "c.log")
        writer.write(40)
        # Killed the moment the first records are out: the periodic checkpoint write has
        # most likely not happened yet.
        wait_for(lambda: file_records(tmp_path / "out"), 30, interval=0.01, what="delivery")
        agent.kill9()
        writer.write(10)
        agent.start()

        def complete() -> bool:
            return not tally(all_written([writer]), file_records(tmp_path / "out")).lost

        wait_for(complete, 30, what="every line after the restart")
        writer.stop()
    finally:
        agent.stop()
