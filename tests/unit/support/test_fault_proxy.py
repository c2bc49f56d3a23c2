"""The fault proxy against a tiny local upstream that counts what reaches it."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.fault_proxy import (
    FaultProxy,
    delay,
    drop_response,
    http_error,
    refuse,
    throttle,
)

received: list[bytes] = []


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append(body)
        answer = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    received.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with FaultProxy(f"http://127.0.0.1:{server.server_address[1]}") as running:
        yield running
    server.shutdown()


def post(proxy: FaultProxy, body: bytes, op: str = "PutLogEvents") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    try:
        conn.request("POST", "/", body, {"X-Amz-Target": f"Logs_20140328.{op}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_forwards_and_records(proxy: FaultProxy) -> None:
    assert post(proxy, b'{"a":1}') == (200, b'{"ok":true}')
    assert received == [b'{"a":1}']
    (exchange,) = proxy.log
    assert exchange.request.operation == "PutLogEvents"
    assert exchange.request.json() == {"a": 1}
    assert exchange.forwarded and exchange.status == 200


def test_errors_answer_without_forwarding_and_expire(proxy: FaultProxy) -> None:
    proxy.inject(throttle(), times=1)
    proxy.inject(http_error(503), times=1)
    status, body = post(proxy, b"1")
    assert status == 400 and b"ThrottlingException" in body
    assert post(proxy, b"2")[0] == 503
    assert post(proxy, b"3")[0] == 200
    assert received == [b"3"]


def test_rules_match_by_operation(proxy: FaultProxy) -> None:
    proxy.inject(http_error(500), times=None, operation="CreateLogStream")
    assert post(proxy, b"x", op="PutLogEvents")[0] == 200
    assert post(proxy, b"y", op="CreateLogStream")[0] == 500
    assert [e.request.operation for e in proxy.calls("CreateLogStream")] == ["CreateLogStream"]


def test_refuse_never_reaches_upstream(proxy: FaultProxy) -> None:
    proxy.inject(refuse())
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        post(proxy, b"lost")
    assert received == []
    assert proxy.log[0].status is None and not proxy.log[0].forwarded


def test_drop_response_forwards_but_never_answers(proxy: FaultProxy) -> None:
    proxy.inject(drop_response())
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        post(proxy, b"applied")
    assert received == [b"applied"]
    assert proxy.log[0].forwarded and proxy.log[0].status is None


def test_delay_and_duration(proxy: FaultProxy) -> None:
    proxy.inject(delay(0.3))
    started = time.monotonic()
    assert post(proxy, b"slow")[0] == 200
    assert time.monotonic() - started >= 0.3
    proxy.inject(http_error(500), duration=0.3)
    assert post(proxy, b"a")[0] == 500
    assert post(proxy, b"b")[0] == 500
    time.sleep(0.35)
    assert post(proxy, b"c")[0] == 200
