"""A stop while an AWS call waits on a server that never answers ends within ``Grace``.

The AWS outputs' botocore calls run on a thread of their own (``sinks/aws/call_thread.py``);
a blocking call cannot be cancelled, and botocore's read timeout is 60 s. The real
``logtide`` process sends CloudWatch Logs requests to a socket on 127.0.0.1 that accepts and
reads them but never answers; SIGTERM must still end the process about ``Grace`` later.
With a non-daemon call thread the interpreter's exit waits for that call (this test then
fails after ~19 s).
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

from tests.support.cli import start_logtide, tail_workdir

GRACE = 2

CONFIG = """\
[SERVICE]
    Flush        0.2
    Grace        {grace}
    Log_Level    info
[INPUT]
    Name              tail
    Path              {{log}}/*.log
    Tag               app
    DB                {{state}}/tail.db
    Read_from_Head    On
[OUTPUT]
    Name               cloudwatch_logs
    Match              *
    region             us-east-1
    endpoint           http://127.0.0.1:{port}
    log_group_name     g
    log_stream_name    s
    auto_retry_requests Off
"""


class SilentServer:
    """Accepts connections and reads what arrives; never writes a byte back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.received = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            if conn.recv(65536):
                self.received.set()

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_sigterm_with_a_call_in_flight_ends_after_grace(tmp_path: Path) -> None:
    server = SilentServer()
    try:
        log, _, _, conf = tail_workdir(tmp_path, CONFIG.format(grace=GRACE, port=server.port))
        (log / "a.log").write_text("".join(f"line {n}\n" for n in range(100)))
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        agent = start_logtide("-c", str(conf), env=env)
        try:
            assert server.received.wait(30), "no request reached the silent server"
            time.sleep(0.5)  # the call is now blocked reading an answer that never comes
            sent = time.monotonic()
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=GRACE + 15)
            took = time.monotonic() - sent
        finally:
            if agent.poll() is None:
                agent.kill()
            agent.communicate()
        assert took < GRACE + 5, f"exit took {took:.1f} s (Grace {GRACE})"
    finally:
        server.close()
