"""Accepting connections for the monitoring server, within limits that keep it answering and
keep the pipeline's file descriptors safe.

aiohttp's own site (``loop.create_server``) accepts without bound and, when the process runs
out of descriptors, logs a traceback each second from asyncio. This listener instead:

- holds at most :func:`max_connections` connections; a new one beyond that closes the
  **oldest** at once (a held connection is idle or slow: a probe or scrape is answered within
  milliseconds of its headers), so a crowd of slow clients cannot lock a liveness probe out;
- on ``EMFILE``/``ENFILE``/``ENOBUFS``/``ENOMEM`` from ``accept`` waits (50 ms doubling to
  1 s) instead of spinning, and says so in one warning line per minute at most.

Reading the request is bounded by the handler's timeouts (see :mod:`http_server`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable

from logtide.agent.core.descriptors import open_file_limit

MAX_CONNECTIONS = 128
BACKLOG = 128
BACKOFF_FIRST = 0.05
BACKOFF_LAST = 1.0
REPORT_EVERY = 60.0
OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
# the peer went away between the handshake and our accept: nothing to do
PEER_GONE = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}


def max_connections() -> int:
    """:data:`MAX_CONNECTIONS`, or a quarter of the descriptor limit when that is less: the
    monitoring server must leave the pipeline its files and sockets."""
    limit = open_file_limit()
    if limit is None:
        return MAX_CONNECTIONS
    return max(4, min(MAX_CONNECTIONS, limit // 4))


def bind(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket (raises ``OSError`` when the address is taken)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Listener:
    """Accepts on ``sock`` and hands each connection to ``protocol_factory``."""

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        logger: logging.Logger,
        limit: int = MAX_CONNECTIONS,
    ) -> None:
        self.sock = sock
        self.protocol_factory = protocol_factory
        self.logger = logger
        self.limit = limit
        # insertion order is age: the first is the oldest
        self._open: dict[asyncio.Transport, None] = {}
        self._next_report = 0.0
        self._missed = 0

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = BACKOFF_FIRST
        while True:
            try:
                conn, _ = await loop.sock_accept(self.sock)
            except OSError as exc:
                if exc.errno in PEER_GONE:
                    continue
                if exc.errno not in OUT_OF_RESOURCES:
                    raise
                self._report(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_LAST)
                continue
            backoff = BACKOFF_FIRST
            self._make_room()
            try:
                transport, _ = await loop.connect_accepted_socket(self.protocol_factory, conn)
            except OSError:
                conn.close()
                continue
            self._open[transport] = None

    def close_all(self) -> None:
        for transport in list(self._open):
            transport.abort()
        self._open.clear()

    def _forget_closed(self) -> None:
        for transport in [t for t in self._open if t.is_closing()]:
            del self._open[transport]

    def _make_room(self) -> None:
        self._forget_closed()
        while len(self._open) >= self.limit:
            oldest = next(iter(self._open))
            del self._open[oldest]
            oldest.abort()

    def _report(self, exc: OSError) -> None:
        self._missed += 1
        now = time.monotonic()
        if now < self._next_report:
            return
        self._next_report = now + REPORT_EVERY
        self.logger.warning(
            "not accepting connections: %s; retrying with back-off "
            "(%d refused accept(s) since the last report)",
            exc.strerror or exc,
            self._missed,
        )
        self._missed = 0
