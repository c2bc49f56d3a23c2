"""The outputs' own HTTP/1.1 connection against loopback servers that answer byte by byte as
scripted (keep-alive, ``Connection: close``, chunked, interim answers, hang-ups, silence,
TLS), and the failures it raises classified as botocore's: sent or not, outcome known or
not. No AWS server is involved; the request's signature is checked in ``test_sigv4.py``
and against moto in the output's tests."""

from __future__ import annotations

import resource
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import SSLError as BotocoreSSLError

from logtide.agent.companions.local_aws import free_port
from logtide.agent.core.errors import is_retryable
from logtide.agent.core.tls import TlsConfig, client_context
from logtide.sinks.aws.retry import outcome_unknown
from logtide.sinks.aws.wire import WireConnection, _send, host_header
from tests.support.fake_kube_api import make_tls

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

Behaviour = Callable[[socket.socket, "Server"], None]


def read_request(conn: socket.socket) -> bytes | None:
    """One request off ``conn`` (head and Content-Length body), None when the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


class Server:
    """Accepts connections on 127.0.0.1 and runs ``behaviour`` on each, in a thread."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._tls = tls
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            with conn:
                self.behaviour(conn, self)
        except (OSError, ssl.SSLError):
            pass

    def close(self) -> None:
        self._listener.close()


def answering(*answers: bytes, then_close: bool = False) -> Behaviour:
    """Reads requests and gives ``answers`` in turn (the last one again after them)."""

    def behaviour(conn: socket.socket, server: Server) -> None:
        index = 0
        while (request := read_request(conn)) is not None:
            server.requests.append(request)
            conn.sendall(answers[min(index, len(answers) - 1)])
            index += 1
            if then_close:
                return

    return behaviour


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> Server:
        servers.append(Server(behaviour, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def connection(url: str, tls: ssl.SSLContext | None = None, read: float = 5) -> WireConnection:
    return WireConnection(url, tls, connect_timeout=2, read_timeout=read)


def test_requests_share_one_connection_and_go_out_whole(serve: Callable[..., Server]) -> None:
    server = serve(answering(OK))
    wire = connection(server.url)
    try:
        answers = [
            wire.post("/", {"X-Amz-Target": f"T.{n}"}, [b"{", b"", b"x" * n, b"}"])
            for n in (0, 5, 70_000)
        ]
    finally:
        wire.close()
    assert [(a.status, a.body) for a in answers] == [(200, b"{}")] * 3
    assert answers[0].headers["content-type"] == "application/json"
    assert server.connections == 1
    head, _, body = server.requests[2].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST / HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "X-Amz-Target: T.70000" in lines and "Content-Length: 70002" in lines
    assert body == b"{" + b"x" * 70_000 + b"}"


def test_pieces_go_out_whole_and_in_order_when_the_socket_takes_part_of_them() -> None:
    """A send buffer far smaller than the body: ``sendmsg`` takes a part at a time, which
    may end inside any piece."""
    pieces = [b"head\r\n", b"a" * 300_001, b"", b"b" * 7, bytes(range(256)) * 1000]
    sender, receiver = socket.socketpair()
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender.settimeout(5)
    received = bytearray()

    def drain() -> None:
        while data := receiver.recv(1000):
            received.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        _send(sender, pieces)
    finally:
        sender.close()
        reader.join()
        receiver.close()
    assert received == b"".join(pieces)


def test_header_values_go_out_as_utf8_as_botocore_sends_them(
    serve: Callable[..., Server],
) -> None:
    server = serve(answering(OK))
    wire = connection(server.url)
    try:
        wire.post("/", {"User-Agent": "botocore/1 container-insights-\u65e5\u672c"}, [b"{}"])
    finally:
        wire.close()
    assert (
        "User-Agent: botocore/1 container-insights-\u65e5\u672c\r\n".encode() in server.requests[0]
    )


def test_a_server_that_closes_each_connection_gets_a_new_one(
    serve: Callable[..., Server],
) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    server = serve(answering(closing, then_close=True))
    wire = connection(server.url)
    try:
        for _ in range(3):
            assert wire.post("/", {}, [b"{}"]).body == b"{}"
    finally:
        wire.close()
    assert server.connections == 3


def test_a_connection_the_server_dropped_while_idle_is_replaced(
    serve: Callable[..., Server],
) -> None:
    """Kept-alive connections that the server closes silently after one answer (an idle
    timeout) are noticed before the next request, which then goes out whole on a new one."""
    server = serve(answering(OK, then_close=True))
    wire = connection(server.url)
    try:
        for _ in range(3):
            assert wire.post("/", {}, [b"{}"]).status == 200
            time.sleep(0.05)
    finally:
        wire.close()
    assert server.connections == 3
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1;x=y\r\n}\r\n0\r\n\r\n",
            b"{}",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, b"{}"),
        (b'HTTP/1.0 200 OK\r\n\r\n{"a":1}', b'{"a":1}'),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (
            b"HTTP/1.1 400 Bad\r\nX-Amzn-ErrorType: A\r\nX-AMZN-ERRORTYPE: B\r\nContent-Length: 0\r\n\r\n",
            b"",
        ),
    ],
    ids=["chunked", "interim-100", "read-to-close", "no-content", "repeated-header"],
)
def test_answers_of_every_framing_are_read(
    serve: Callable[..., Server], answer: bytes, body: bytes
) -> None:
    server = serve(answering(answer, then_close=b"HTTP/1.0" in answer))
    wire = connection(server.url)
    try:
        first = wire.post("/", {}, [b"{}"])
        second = wire.post("/", {}, [b"{}"])
    finally:
        wire.close()
    assert first.body == second.body == body
    if b"ErrorType" in answer:
        assert first.status == 400 and first.headers["x-amzn-errortype"] == "A, B"


def test_a_refused_connection_is_a_request_never_sent() -> None:
    wire = connection(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EndpointConnectionError) as raised:
        wire.post("/", {}, [b"{}"])
    assert is_retryable(raised.value) and not outcome_unknown(raised.value)


def hang_up(conn: socket.socket, server: Server) -> None:
    if read_request(conn) is not None:
        server.requests.append(b"")


def silent(conn: socket.socket, server: Server) -> None:
    read_request(conn)
    threading.Event().wait(5)


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (hang_up, ConnectionClosedError),
        (silent, ReadTimeoutError),
        (answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", then_close=True), HTTPClientError),
        (
            answering(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", then_close=True),
            ConnectionClosedError,
        ),
    ],
    ids=["hang-up", "silence", "not-http", "short-body"],
)
def test_a_failure_after_sending_leaves_the_outcome_unknown(
    serve: Callable[..., Server], behaviour: Behaviour, error: type[Exception]
) -> None:
    server = serve(behaviour)
    wire = connection(server.url, read=0.5)
    try:
        with pytest.raises(error) as raised:
            wire.post("/", {}, [b"{}"])
    finally:
        wire.close()
    assert is_retryable(raised.value) and outcome_unknown(raised.value)
    assert "\n" not in str(raised.value)


def tls_server_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    files = make_tls(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert_file, files.key_file)
    return context, files.ca_file


def test_tls_checks_the_certificate_and_the_name(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server_context, ca_file = tls_server_context(tmp_path)
    server = serve(answering(OK), server_context)
    trusted = client_context(TlsConfig(ca_file=str(ca_file), verify_hostname=True))
    wire = connection(server.url, trusted)
    try:
        assert wire.post("/", {}, [b"{}"]).body == b"{}"
        assert wire.post("/", {}, [b"{}"]).body == b"{}"
    finally:
        wire.close()
    assert server.connections == 1
    unknown_ca = client_context(TlsConfig(verify_hostname=True))
    with pytest.raises(BotocoreSSLError) as raised:
        connection(server.url, unknown_ca).post("/", {}, [b"{}"])
    assert is_retryable(raised.value)
    unchecked = connection(server.url, client_context(TlsConfig(verify=False)))
    try:
        assert unchecked.post("/", {}, [b"{}"]).status == 200
    finally:
        unchecked.close()


def test_the_host_header_names_the_port_only_when_it_is_not_the_schemes() -> None:
    assert host_header("https://Logs.EU-West-1.amazonaws.com:443") == "logs.eu-west-1.amazonaws.com"
    assert host_header("http://127.0.0.1:4566/") == "127.0.0.1:4566"
    assert host_header("http://[::1]:80/") == "[::1]"
    assert host_header("https://h:80") == "h:80"


def test_a_connection_past_select_s_descriptor_limit_is_kept(
    serve: Callable[..., Server],
) -> None:
    """An agent tailing many files holds descriptors past 1024, select()'s limit: the
    idle check must still see the connection as alive and keep it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"descriptor limit {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    server = serve(answering(OK))
    filler = [socket.socket() for _ in range(1100)]
    wire = connection(server.url)
    try:
        for _ in range(3):
            assert wire.post("/", {}, [b"{}"]).status == 200
    finally:
        wire.close()
        for sock in filler:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert server.connections == 1
