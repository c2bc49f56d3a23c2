"""A fault-injecting HTTP proxy for tests: put it between an AWS client and moto.

Usage::

    with FaultProxy(moto.endpoint) as proxy:        # listens on 127.0.0.1:<free port>
        output = build(..., endpoint=proxy.endpoint)
        proxy.inject(throttle(), times=3, operation="PutLogEvents")
        proxy.inject(http_error(503), duration=2.0)   # every request for 2 s
        proxy.inject(drop_response(), times=1)        # forwarded, answer lost
        ...
        batches = proxy.calls("PutLogEvents")          # what the client really sent

The proxy runs its own event loop in a daemon thread, so it serves synchronous tests, async
tests and subprocesses alike; every method is safe to call from any thread.

Each request is matched against the injected rules in order; the first live rule whose
``operation`` (the ``X-Amz-Target`` action, e.g. ``PutLogEvents``) matches decides what
happens. A :data:`Fault` is ``async (request, forward) -> Response | None``: call
``await forward(request)`` to send it on to moto, return a :class:`Response` to answer, or
return ``None`` to close the connection without answering. Built-in faults:

- :func:`refuse` — close the connection at once; the request never reaches moto.
- :func:`http_error` / :func:`throttle` — answer with an AWS JSON error; nothing forwarded.
- :func:`delay` — wait, then forward (with a client read timeout this is a time-out whose
  request *was* applied).
- :func:`drop_response` — forward, then close without answering: outcome unknown to the
  client, though moto applied it.
- :func:`respond_with` — answer with a body built from the request (e.g. a Firehose
  ``FailedPutCount`` partial failure, see :func:`firehose_partial_failure`).

Every request is recorded in :attr:`FaultProxy.log` as a :class:`Exchange` (request, whether
it reached moto, the status returned).
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def operation(self) -> str:
        """``PutLogEvents`` from ``X-Amz-Target: Logs_20140328.PutLogEvents``."""
        amz = self.headers.get("x-amz-target", "")
        return amz.rsplit(".", 1)[-1] if amz else ""

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Exchange:
    request: Request
    forwarded: bool = False
    status: int | None = None  # None: the client got no answer


Forward = Callable[[Request], Awaitable[Response]]
Fault = Callable[[Request, Forward], Awaitable[Response | None]]


@dataclass
class _Rule:
    fault: Fault
    operation: str | None
    times: int | None
    until: float | None

    def live(self) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return self.until is None or time.monotonic() < self.until


# -- built-in faults ---------------------------------------------------------------------


def refuse() -> Fault:
    async def fault(request: Request, forward: Forward) -> Response | None:
        return None

    return fault


def http_error(status: int, code: str | None = None, message: str = "injected") -> Fault:
    """An AWS JSON-protocol error answer (``x-amzn-ErrorType`` plus ``__type`` body)."""
    code = code or {
        500: "InternalFailure",
        503: "ServiceUnavailableException",
        429: "TooManyRequestsException",
        400: "ThrottlingException",
    }.get(status, "InjectedError")

    async def fault(request: Request, forward: Forward) -> Response | None:
        body = orjson.dumps({"__type": code, "message": message})
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code}
        return Response(status, headers, body)

    return fault


def throttle() -> Fault:
    return http_error(400, "ThrottlingException", "Rate exceeded")


def delay(seconds: float) -> Fault:
    async def fault(request: Request, forward: Forward) -> Response | None:
        await asyncio.sleep(seconds)
        return await forward(request)

    return fault


def drop_response() -> Fault:
    async def fault(request: Request, forward: Forward) -> Response | None:
        await forward(request)
        return None

    return fault


def respond_with(build: Callable[[Request], Response]) -> Fault:
    async def fault(request: Request, forward: Forward) -> Response | None:
        return build(request)

    return fault


def firehose_partial_failure(failed: Iterable[int]) -> Fault:
    """PutRecordBatch where the records at ``failed`` indexes fail: the others are forwarded
    to moto (so they are really stored) and the answer reports the rest as failed."""
    failed_set = set(failed)

    async def fault(request: Request, forward: Forward) -> Response | None:
        payload = request.json()
        records = payload["Records"]
        kept = [r for i, r in enumerate(records) if i not in failed_set]
        payload["Records"] = kept
        upstream = Response(200)
        if kept:
            body = orjson.dumps(payload)
            headers = dict(request.headers, **{"content-length": str(len(body))})
            upstream = await forward(Request(request.method, request.target, headers, body))
            if upstream.status != 200:
                return upstream
        accepted = iter((orjson.loads(upstream.body) or {}).get("RequestResponses", []))
        answers = []
        for index in range(len(records)):
            if index in failed_set:
                answers.append(
                    {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "injected"}
                )
            else:
                answers.append(next(accepted))
        body = orjson.dumps(
            {
                "FailedPutCount": len(failed_set & set(range(len(records)))),
                "Encrypted": False,
                "RequestResponses": answers,
            }
        )
        return Response(200, {"content-type": "application/x-amz-json-1.1"}, body)

    return fault


def decode_firehose_records(request: Request) -> list[bytes]:
    """The raw ``Data`` of each record in a captured PutRecordBatch request."""
    return [base64.b64decode(r["Data"]) for r in request.json()["Records"]]


# -- the proxy ---------------------------------------------------------------------------


class FaultProxy:
    """HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream`` (``http://127.0.0.1:port``)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the fault proxy only talks to loopback servers")
        self._upstream = (parts.hostname, parts.port or 80)
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.log: list[Exchange] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._connections: set[asyncio.StreamWriter] = set()
        self.port = 0

    # -- control (any thread) ---------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        duration: float | None = None,
        operation: str | None = None,
    ) -> None:
        """Apply ``fault`` to the next ``times`` matching requests (``None``: unlimited),
        or to every matching request for ``duration`` seconds."""
        until = time.monotonic() + duration if duration is not None else None
        if duration is not None and times == 1:
            times = None
        with self._lock:
            self._rules.append(_Rule(fault, operation, times, until))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def offline(self) -> None:
        """Stop listening and drop every open connection: connecting is refused (nothing
        listens on the port, as when a service is down) until :meth:`online`."""
        self._call(self._shutdown())

    def online(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen(self.port))

    def calls(self, operation: str | None = None) -> list[Exchange]:
        with self._lock:
            return [e for e in self.log if operation in (None, e.request.operation)]

    def accepted(self, operation: str) -> list[Request]:
        """Requests of ``operation`` that reached moto and got a 200 back to the client."""
        return [e.request for e in self.calls(operation) if e.forwarded and e.status == 200]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        future.result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "the proxy is not running"
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._listen(0))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.close()
        await asyncio.sleep(0)

    # -- serving --------------------------------------------------------------------------

    def _pick(self, request: Request) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.operation not in (None, request.operation) or not rule.live():
                    continue
                if rule.times is not None:
                    rule.times -= 1
                return rule.fault
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                request = await _read_request(reader, writer)
                if request is None:
                    return
                exchange = Exchange(request)
                with self._lock:
                    self.log.append(exchange)

                async def forward(req: Request, exchange: Exchange = exchange) -> Response:
                    response = await self._forward(req)
                    exchange.forwarded = True
                    return response

                fault = self._pick(request)
                response = await (fault(request, forward) if fault else forward(request))
                if response is None:
                    return
                exchange.status = response.status
                _write_response(writer, response)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _forward(self, request: Request) -> Response:
        host, port = self._upstream
        reader, writer = await asyncio.open_connection(host, port)
        try:
            headers = {k: v for k, v in request.headers.items() if k != "connection"}
            headers["connection"] = "close"
            headers["content-length"] = str(len(request.body))
            headers.pop("transfer-encoding", None)
            head = f"{request.method} {request.target} HTTP/1.1\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            writer.write(head.encode("latin-1") + request.body)
            await writer.drain()
            return await _read_response(reader)
        finally:
            writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return lines[0], headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    return b""


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    head = await _read_head(reader)
    if head is None:
        return None
    first, headers = head
    method, target, _ = first.split(" ", 2)
    # S3 PutObject/UploadPart send the body only after an interim answer.
    if headers.pop("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    body = await _read_body(reader, headers)
    headers.pop("transfer-encoding", None)
    return Request(method, target, headers, body)


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await _read_head(reader)
    if head is None:
        raise ConnectionError("upstream closed without answering")
    first, headers = head
    status = int(first.split(" ", 2)[1])
    if "content-length" in headers or "transfer-encoding" in headers:
        body = await _read_body(reader, headers)
    else:
        body = await reader.read()
    headers.pop("transfer-encoding", None)
    return Response(status, headers, body)


def _write_response(writer: asyncio.StreamWriter, response: Response) -> None:
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "connection", "transfer-encoding")
    }
    headers.setdefault("x-amzn-requestid", "fault-proxy")
    head = f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"content-length: {len(response.body)}\r\n\r\n"
    writer.write(head.encode("latin-1") + response.body)


_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip
