"""A kept-alive HTTP/1.1 connection to an AWS endpoint, for the one request an output sends
for every batch and builds itself (PutLogEvents: ``cloudwatch_logs/put_call.py``).

botocore's pool (urllib3 over ``http.client``, which reads every answer's headers with the
``email`` package) spent ~1 ms of CPU more per request than this on the development VM:
~6% of bench scenario ``eks-cw``. The connection is used only where that pool would connect
directly: with a proxy (``HTTPS_PROXY``, ``NO_PROXY``) or a client certificate in play the
requests stay on the pool (:meth:`~logtide.sinks.aws.client.AwsClients.direct_connection`).

Failures are botocore's exceptions, so the output's decisions stay as they were:

- before the request is sent (refused, unknown host, connect timeout):
  ``EndpointConnectionError`` / ``ConnectTimeoutError``; a failed TLS handshake is
  botocore's ``SSLError``;
- after (the answer times out, the server hangs up, the answer is not HTTP):
  ``ReadTimeoutError`` / ``ConnectionClosedError`` / ``HTTPClientError``: the service may
  have applied the request, and the output looks before it sends again.

The connection is kept for the next request unless the server closes it (moto closes
every one). One the server closed while idle reads as ready, so it is replaced before a
request goes out on it. Blocking; only the output's call thread uses it.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import SSLError as BotocoreSSLError

_DEFAULT_PORTS = {"http": 80, "https": 443}
# An answer's status line and headers: AWS's run to a few hundred bytes.
MAX_LINE = 65_536
MAX_HEADERS = 100
_RECEIVE = 65_536


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


class _NotHttp(Exception):
    """The server's answer is not HTTP/1.x."""


class _HungUp(ConnectionError):
    """The server closed the connection before the answer was whole."""


class _Reader:
    """Reads an answer off a socket, holding what arrived past what was asked for."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    @property
    def holds_data(self) -> bool:
        return bool(self._buffer)

    def _fill(self) -> None:
        data = self._sock.recv(_RECEIVE)
        if not data:
            raise _HungUp("the server closed the connection")
        self._buffer += data

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_LINE:
                raise _NotHttp("a header line longer than 64 KiB")
            self._fill()
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def until_closed(self) -> bytes:
        while data := self._sock.recv(_RECEIVE):
            self._buffer += data
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def host_header(url: str) -> str:
    """The ``Host`` a request to ``url`` carries and SigV4 signs: the lower-cased name, the
    port only when it is not the scheme's own."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle kept-alive connection that reads as ready has been closed by the server (or
    holds bytes nobody asked for): either way it cannot carry a request."""
    # poll, not select: an agent tailing a thousand files holds descriptors past select's
    # limit of 1024.
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return bool(poller.poll(0))
    except OSError:
        return True


def _send(sock: socket.socket, pieces: list[bytes]) -> None:
    """Send ``pieces`` whole and in order, gathered into as few system calls as the socket
    takes (a TLS socket has no ``sendmsg``: piece by piece). The socket's timeout bounds
    each wait for room, so a server that stops reading fails the request and one that reads
    slowly does not."""
    if isinstance(sock, ssl.SSLSocket):
        for piece in pieces:
            sock.sendall(piece)
        return
    views = [memoryview(piece) for piece in pieces if piece]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            del views[0]
        if sent:
            views[0] = views[0][sent:]


def _status(line: bytes) -> tuple[bool, int]:
    """Whether the answer keeps the connection by default (HTTP/1.1), and its status."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _NotHttp(f"not an HTTP status line: {line[:80]!r}")
    return parts[0] == b"HTTP/1.1", int(parts[1])


def _headers(reader: _Reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = reader.line()
        if line in (b"\r\n", b"\n"):
            return headers
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _NotHttp(f"not an HTTP header line: {line[:80]!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise _NotHttp(f"more than {MAX_HEADERS} header lines")


def _chunked(reader: _Reader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_text = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _NotHttp(f"not a chunk size: {size_text[:20]!r}") from None
        if size == 0:
            break
        parts.append(reader.exactly(size))
        reader.exactly(2)
    while reader.line() not in (b"\r\n", b"\n"):
        pass
    return b"".join(parts)


class WireConnection:
    """``post(path, headers, body)``: one request on the kept connection to ``url`` (the
    endpoint: scheme, host, port), connecting first when there is none."""

    def __init__(
        self,
        url: str,
        tls: ssl.SSLContext | None,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {url!r}")
        self.url = url
        self.host = host_header(url)
        self._address = (parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme])
        self._tls = tls if parts.scheme == "https" else None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sock: socket.socket | None = None
        self._reader: _Reader | None = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None

    def _connected(self) -> _Reader:
        if self._sock is not None and self._reader is not None:
            if not self._reader.holds_data and not _closed_by_peer(self._sock):
                return self._reader
            self.close()
        try:
            raw = socket.create_connection(self._address, timeout=self._connect_timeout)
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = (
                self._tls.wrap_socket(raw, server_hostname=self._address[0])
                if self._tls is not None
                else raw
            )
        except ssl.SSLError as exc:
            raw.close()
            raise BotocoreSSLError(endpoint_url=self.url, error=exc) from exc
        except TimeoutError as exc:
            raw.close()
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:
            raw.close()
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        sock.settimeout(self._read_timeout)
        self._sock = sock
        self._reader = _Reader(sock)
        return self._reader

    def post(self, path: str, headers: Mapping[str, str], body: Sequence[bytes]) -> Answer:
        """POST ``body``, given in pieces: they go out as they are, never joined (joining a
        megabyte body cost ~0.5 ms of CPU a request, bench/README.md)."""
        head = "".join(
            (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n",
                *(f"{name}: {value}\r\n" for name, value in headers.items()),
                "Accept-Encoding: identity\r\n",
                f"Content-Length: {sum(map(len, body))}\r\n\r\n",
            )
        ).encode()  # UTF-8, as botocore sends a header value (an extra_user_agent in kanji)
        reader = self._connected()
        assert self._sock is not None
        try:
            _send(self._sock, [head, *body])
            answer, keep = self._answer(reader)
        except TimeoutError as exc:
            self.close()
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except _NotHttp as exc:
            self.close()
            raise HTTPClientError(error=exc) from exc
        except OSError as exc:
            self.close()
            raise ConnectionClosedError(endpoint_url=self.url) from exc
        if not keep:
            self.close()
        return answer

    def _answer(self, reader: _Reader) -> tuple[Answer, bool]:
        while True:
            keep, status = _status(reader.line())
            headers = _headers(reader)
            # An interim answer (100 Continue) precedes the real one.
            if not 100 <= status < 200:
                break
        if "close" in headers.get("connection", "").lower():
            keep = False
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = _chunked(reader)
        elif (length := headers.get("content-length")) is not None:
            if not length.isdigit():
                raise _NotHttp(f"not a content length: {length[:20]!r}")
            body = reader.exactly(int(length))
        else:
            body = reader.until_closed()
            keep = False
        return Answer(status, headers, body), keep
