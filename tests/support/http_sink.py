"""A small recording HTTP server on 127.0.0.1 standing in for the HTTP outputs' receivers.

It records every request as received (method, path, query, headers, the body before and
after undoing ``Content-Encoding``) and answers from a script: ``statuses`` are answered in
order (one per request), then ``default_status`` (503 to every ``fail_every``-th).
``require_auth`` answers 401 to a request without that exact ``Authorization`` value. It runs in the test's loop (:meth:`start`) or
in a thread of its own for tests that drive a separate ``logtide`` process
(:func:`sink_in_thread`).
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import cramjam
from aiohttp import web
from multidict import CIMultiDict


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    raw: bytes
    body: bytes
    status: int


@dataclass
class HttpSink:
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    #: Answer 503 to every n-th request (0: never), a receiver that is sometimes overloaded.
    fail_every: int = 0
    answer_body: bytes = b""
    require_auth: str | None = None
    ssl_context: ssl.SSLContext | None = None
    port: int = 0
    #: Off: keep each request's headers and status but not its bodies (a benchmark's
    #: millions of records); ``lines_accepted`` counts the lines of accepted bodies either way.
    keep_bodies: bool = True
    lines_accepted: int = 0
    requests: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        encoding = request.headers.get("Content-Encoding", "")
        body = raw
        if encoding == "gzip":
            body = gzip.decompress(raw)
        elif encoding == "zstd":
            body = bytes(cramjam.zstd.decompress(raw))
        elif encoding == "snappy":
            body = bytes(cramjam.snappy.decompress_raw(raw))
        if self.require_auth is not None and request.headers.get("Authorization") != (
            self.require_auth
        ):
            status = 401
        elif self.statuses:
            status = self.statuses.pop(0)
        elif self.fail_every and (len(self.requests) + 1) % self.fail_every == 0:
            status = 503
        else:
            status = self.default_status
        if 200 <= status < 300:
            self.lines_accepted += body.count(b"\n")
        if not self.keep_bodies:
            raw = body = b""
        self.requests.append(
            Received(
                request.method,
                request.path,
                request.query_string,
                CIMultiDict(request.headers),
                raw,
                body,
                status,
            )
        )
        return web.Response(status=status, body=self.answer_body or f"status {status}".encode())

    async def start(self) -> HttpSink:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Raw bodies: the server checks the encoding itself, as a receiver would.
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        await site.start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class ThreadedSink:
    """An :class:`HttpSink` in a thread with its own loop; ``stop``/``start`` take it down
    and up again on the same port (a receiver outage)."""

    def __init__(self, sink: HttpSink) -> None:
        self.sink = sink
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)  # type: ignore[arg-type]

    def start(self) -> None:
        self._call(self.sink.start())

    def stop(self) -> None:
        self._call(self.sink.stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def sink_in_thread(sink: HttpSink | None = None) -> Iterator[ThreadedSink]:
    threaded = ThreadedSink(sink or HttpSink())
    threaded.start()
    try:
        yield threaded
    finally:
        threaded.close()
