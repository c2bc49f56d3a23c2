"""The real ``logtide`` process with ``HTTP_Server On`` on a free 127.0.0.1 port: metrics
scraped during a run match the records written, health flips and recovers, and hot reloads
(SIGHUP and POST /api/v2/reload) deliver every record exactly once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

LOGTIDE = str(Path(sys.executable).with_name("logtide"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service(port: int, **extra: str) -> str:
    lines = [
        "[SERVICE]",
        "    Flush 0.1",
        "    Grace 10",
        "    HTTP_Server On",
        "    HTTP_Listen 127.0.0.1",
        f"    HTTP_Port {port}",
    ]
    lines += [f"    {key} {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def dummy(record: str, rate: int, samples: int = 0) -> str:
    return (
        "[INPUT]\n    Name dummy\n    Tag app\n"
        f"    Dummy {record}\n    Rate {rate}\n    Samples {samples}\n"
    )


def file_output(folder: Path, name: str = "out.log") -> str:
    return (
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {folder}\n"
        f"    File {name}\n    Format plain\n"
    )


class Agent:
    def __init__(self, config: Path, port: int) -> None:
        self.port = port
        self.log = config.with_suffix(".stderr")
        self._stderr = self.log.open("wb")
        self.proc = subprocess.Popen(
            [LOGTIDE, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        self.wait_for(lambda: self.get("/")[0] == 200, "the HTTP server")

    def get(self, path: str, method: str = "GET") -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(f"logtide exited: {self.log.read_text()}") from None
            return 0, b""

    def metrics(self) -> dict[str, Any]:
        status, body = self.get("/api/v1/metrics")
        assert status == 200
        result: dict[str, Any] = json.loads(body)
        return result

    def prometheus(self, version: int) -> dict[tuple[str, str], float]:
        status, body = self.get(f"/api/v{version}/metrics/prometheus")
        assert status == 200
        found = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                found[(sample.name, sample.labels.get("name", ""))] = sample.value
        return found

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"logtide exited: {self.log.read_text()}")
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; log:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._stderr.close()
        return code


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        if agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_both_metric_formats_match_the_records_written(tmp_path: Path, agents: list[Agent]) -> None:
    port = free_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        service(port) + dummy('{"message":"hello"}', rate=100, samples=150) + file_output(tmp_path)
    )
    agent = Agent(config, port)
    agents.append(agent)
    out = tmp_path / "out.log"

    # during the run: what the output reports delivered is on disk already
    agent.wait_for(lambda: agent.metrics()["input"]["dummy.0"]["records"] >= 30, "records")
    during = agent.metrics()
    assert during["output"]["file.0"]["proc_records"] <= len(lines(out))
    assert during["output"]["file.0"]["proc_records"] <= during["input"]["dummy.0"]["records"]

    agent.wait_for(
        lambda: agent.metrics()["output"]["file.0"]["proc_records"] == 150, "all delivered"
    )
    written = len(lines(out))
    assert written == 150
    final = agent.metrics()
    assert final["input"]["dummy.0"]["records"] == written
    assert final["input"]["dummy.0"]["bytes"] == written * len('{"message":"hello"}\n')
    assert final["output"]["file.0"]["errors"] == 0
    for version in (1, 2):
        found = agent.prometheus(version)
        assert found[("fluentbit_input_records_total", "dummy.0")] == written
        assert found[("fluentbit_output_proc_records_total", "file.0")] == written
        assert found[("fluentbit_output_errors_total", "file.0")] == 0
        assert found[("fluentbit_output_dropped_records_total", "file.0")] == 0
    assert agent.prometheus(2)[("fluentbit_uptime_total", "")] >= 0
    status, body = agent.get("/api/v1/uptime")
    assert status == 200 and json.loads(body)["uptime_hr"].startswith("Fluent Bit has been")
    assert agent.stop() == 0
    assert len(lines(out)) == 150


def test_health_fails_after_the_error_limit_and_recovers_after_the_period(
    tmp_path: Path, agents: list[Agent]
) -> None:
    port = free_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        service(port, Health_Check="On", HC_Errors_Count="2", HC_Period="3")
        + dummy('{"message":"x"}', rate=20, samples=20)
        + file_output(tmp_path / "missing-folder")
    )
    agent = Agent(config, port)
    agents.append(agent)
    assert agent.get("/api/v1/health") == (200, b"ok\n")
    agent.wait_for(lambda: agent.get("/api/v1/health") == (500, b"error\n"), "unhealthy")
    output = agent.metrics()["output"]["file.0"]
    assert output["errors"] > 2
    assert agent.prometheus(1)[("fluentbit_output_errors_total", "file.0")] == output["errors"]
    # the input is done, no new errors: they age out of the 3 s period
    agent.wait_for(lambda: agent.get("/api/v1/health") == (200, b"ok\n"), "healthy again")
    final = agent.metrics()["output"]["file.0"]
    assert final["dropped_records"] == 20 and final["proc_records"] == 0
    assert agent.stop() == 0
    assert "[error] [output:file.0]" in agent.log.read_text()


def reload_config(tmp_path: Path, port: int, generation: str, samples: int) -> str:
    record = f'{{"gen":"{generation}"}}'
    return service(port, Hot_Reload="On") + dummy(record, 200, samples) + file_output(tmp_path)


@pytest.mark.parametrize("trigger", ["sighup", "post"])
def test_reload_delivers_every_record_exactly_once(
    tmp_path: Path, agents: list[Agent], trigger: str
) -> None:
    port = free_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(reload_config(tmp_path, port, "a", 0))
    agent = Agent(config, port)
    agents.append(agent)
    out = tmp_path / "out.log"
    agent.wait_for(lambda: len(lines(out)) >= 50, "first generation records")

    # an invalid configuration is rejected and the running pipeline goes on
    config.write_text(service(port, Hot_Reload="On") + "[OUTPUT]\n    Name nope\n")
    assert agent.get("/api/v2/reload", "POST") == (200, b'{"reload":"done","status":0}')
    agent.wait_for(lambda: "new configuration rejected" in agent.log.read_text(), "rejection")
    before = len(lines(out))
    agent.wait_for(lambda: len(lines(out)) > before + 20, "the old pipeline still running")
    assert json.loads(agent.get("/api/v2/reload")[1]) == {"hot_reload_count": 0}

    # mid-stream reload to a second generation of 100 records
    config.write_text(reload_config(tmp_path, port, "b", 100))
    if trigger == "sighup":
        agent.proc.send_signal(signal.SIGHUP)
    else:
        assert agent.get("/api/v2/reload", "PUT")[0] == 200
    agent.wait_for(
        lambda: json.loads(agent.get("/api/v2/reload")[1])["hot_reload_count"] == 1, "reload"
    )
    agent.wait_for(lambda: lines(out).count('{"gen":"b"}') == 100, "second generation")
    agent.wait_for(
        lambda: (
            agent.metrics()["output"]["file.0"]["proc_records"]
            == agent.metrics()["input"]["dummy.0"]["records"]
        ),
        "everything delivered",
    )
    emitted = agent.metrics()["input"]["dummy.0"]["records"]
    written = lines(out)
    assert len(written) == emitted
    assert written.count('{"gen":"a"}') == emitted - 100
    assert set(written) == {'{"gen":"a"}', '{"gen":"b"}'}
    # no generation-a record after the first generation-b one: the old pipeline was drained
    assert '{"gen":"a"}' not in written[written.index('{"gen":"b"}') :]
    assert agent.prometheus(2)[("fluentbit_hot_reloaded_times_total", "")] == 1
    assert agent.stop() == 0


def test_reload_is_refused_without_hot_reload(tmp_path: Path, agents: list[Agent]) -> None:
    port = free_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(service(port) + dummy('{"m":1}', 10) + file_output(tmp_path))
    agent = Agent(config, port)
    agents.append(agent)
    for method in ("POST", "PUT", "POST"):
        status, body = agent.get("/api/v2/reload", method)
        assert (status, json.loads(body)) == (200, {"reload": "not enabled", "status": -1})
    assert agent.get("/api/v2/reload", "DELETE")[0] == 400
    assert agent.get("/api/v1/health")[0] == 404  # Health_Check Off: not served, as Fluent Bit
    assert agent.stop() == 0
    # whoever reaches the port cannot flood the log with refused reloads
    assert agent.log.read_text().count("hot reload is not enabled") == 1


def test_reload_mid_tail_keeps_every_line_exactly_once(tmp_path: Path, agents: list[Agent]) -> None:
    port = free_port()
    source = tmp_path / "app.log"
    config = tmp_path / "fluent-bit.conf"

    def write_config(tag: str) -> None:
        config.write_text(
            service(port, Hot_Reload="On")
            + f"[INPUT]\n    Name tail\n    Path {source}\n    Tag {tag}\n"
            + f"    DB {tmp_path / 'tail.db'}\n    Read_from_Head On\n    Refresh_Interval 1\n"
            + file_output(tmp_path)
        )

    with source.open("w") as handle:
        handle.writelines(f"line {n}\n" for n in range(5000))
    write_config("first")
    agent = Agent(config, port)
    agents.append(agent)
    out = tmp_path / "out.log"
    agent.wait_for(lambda: len(lines(out)) > 0, "first lines")
    write_config("second")
    agent.proc.send_signal(signal.SIGHUP)
    with source.open("a") as handle:
        handle.writelines(f"line {n}\n" for n in range(5000, 8000))
    agent.wait_for(
        lambda: json.loads(agent.get("/api/v2/reload")[1])["hot_reload_count"] == 1, "reload"
    )
    agent.wait_for(lambda: len(lines(out)) >= 8000, "every line", timeout=40)
    assert agent.stop() == 0
    written = [json.loads(line)["log"] for line in lines(out)]
    assert sorted(written, key=lambda text: int(text.split()[1])) == [
        f"line {n}" for n in range(8000)
    ]


def test_a_reload_whose_log_file_cannot_be_opened_keeps_logging_and_running(
    tmp_path: Path, agents: list[Agent]
) -> None:
    """The new pipeline runs; the agent's log stays where it was, with one error line. The
    old handler used to be closed first, then the open failed and ended the agent."""
    port = free_port()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(reload_config(tmp_path, port, "a", 0))
    agent = Agent(config, port)
    agents.append(agent)
    out = tmp_path / "out.log"
    agent.wait_for(lambda: len(lines(out)) >= 20, "first generation records")
    bad = tmp_path / "missing" / "agent.log"
    config.write_text(
        reload_config(tmp_path, port, "b", 0).replace(
            "[SERVICE]\n", f"[SERVICE]\n    Log_File {bad}\n"
        )
    )
    agent.proc.send_signal(signal.SIGHUP)
    agent.wait_for(
        lambda: json.loads(agent.get("/api/v2/reload")[1])["hot_reload_count"] == 1, "reload"
    )
    agent.wait_for(lambda: '{"gen":"b"}' in lines(out), "the new pipeline's records")
    assert f"Log_File {bad}: cannot open it: No such file or directory" in agent.log.read_text()
    assert agent.stop() == 0
    assert "pipeline restarted (reload #1)" in agent.log.read_text()  # went on past it
