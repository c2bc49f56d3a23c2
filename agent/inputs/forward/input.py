"""The ``forward`` input: listens (TCP or a Unix socket, TLS optional) and turns each
Forward message into a chunk.

Every connection is served by its own task (owned by the engine); their chunks pass through
one queue to :meth:`ForwardInput.run`, which emits them one at a time, so the pipeline sees
one producer as with any input. Bytes emitted but not yet acknowledged count against
``Mem_Buf_Limit``: past it, connections stop reading (TCP slows the clients down).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import stat
from typing import Any, ClassVar

from logtide.agent.core import reclaim
from logtide.agent.core.errors import PluginError
from logtide.agent.core.events import Ack, Chunk, Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import Emit, InputPlugin, PluginContext
from logtide.agent.core.tls import server_context
from logtide.agent.inputs.forward.connection import Connection
from logtide.agent.inputs.forward.options import OPTIONS, ForwardInputSettings

# Chunks waiting for the emitting loop, across all connections: a few, so a connection
# waits (and stops reading) while the pipeline is busy.
QUEUE_CHUNKS = 8
# Seconds close() gives connections to send the acks the drain settled.
CLOSE_WAIT = 2.0


class ForwardInput(InputPlugin[ForwardInputSettings]):
    """Fluent Bit's ``forward`` input (Fluentd's ``in_forward``)."""

    name: ClassVar[str] = "forward"
    description: ClassVar[str] = "Receive records over Fluent's Forward protocol (TCP/Unix)."
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self._queue: asyncio.Queue[Chunk] = asyncio.Queue(QUEUE_CHUNKS)
        self._in_flight = 0
        self._room = asyncio.Event()
        self._connections: dict[asyncio.Task[Any], Connection] = {}
        self._server: asyncio.Server | None = None
        self._count = 0
        #: Where the server listens, once it does: (host, port) or the Unix path.
        self.address: tuple[str, int] | str | None = None

    async def run(self, emit: Emit) -> None:
        self._server = await self._listen()
        try:
            while True:
                await emit(await self._queue.get())
        finally:
            self._stop_listening()

    async def _listen(self) -> asyncio.Server:
        config = self.config
        context: ssl.SSLContext | None = None
        if config.tls:
            context = server_context(
                config.tls_crt_file,
                config.tls_key_file,
                config.tls_key_passwd,
                config.tls_ca_file,
                verify_clients=config.tls_verify and bool(config.tls_ca_file),
            )
        limit = config.buffer_chunk_size
        try:
            if config.unix_path:
                _remove_stale_socket(config.unix_path)
                server = await asyncio.start_unix_server(
                    self._accept, config.unix_path, ssl=context, limit=limit
                )
                if config.mode is not None:
                    os.chmod(config.unix_path, config.mode)
                self.address = config.unix_path
                where = f"unix:{config.unix_path}"
            else:
                server = await asyncio.start_server(
                    self._accept, config.listen, config.port, ssl=context, limit=limit
                )
                host, port = server.sockets[0].getsockname()[:2]
                self.address = (host, port)
                where = f"{config.listen}:{port}"
        except OSError as exc:
            target = config.unix_path or f"{config.listen}:{config.port}"
            raise PluginError(f"forward: cannot listen on {target}: {exc.strerror}") from None
        self.context.logger.info(
            "forward: listening on %s%s%s",
            where,
            " (TLS)" if context else "",
            " with the shared-key handshake" if config.key is not None else "",
        )
        return server

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # What connections that ended left behind (asyncio's closed transports are cycles;
        # a failed one keeps its exception group with the frames, decoder and buffers)
        # would wait for the rarely run collector: thousands of them on a quiet input.
        reclaim.collect()
        peer = _peer(writer)
        self._count += 1
        self.context.metrics.add(self.context.instance, "connections")
        connection = Connection(
            self.config,
            reader,
            writer,
            peer=peer,
            deliver=self._deliver,
            logger=self.context.logger,
            metrics=self.context.metrics,
            instance=self.context.instance,
        )
        task = self.context.spawn(connection.serve(), f"{self.context.instance}.conn{self._count}")
        if isinstance(task, asyncio.Task):
            self._connections[task] = connection
            task.add_done_callback(lambda done: self._connections.pop(done, None))

    async def _deliver(
        self, tag: str, events: list[Event], size: int, awaited: bool
    ) -> asyncio.Future[bool]:
        """Queue one chunk for the pipeline; the future resolves when its acknowledgement
        settles (True: every output has the events). ``awaited``: the client waits for it."""
        limit = self.config.mem_buf_limit
        while limit and self._in_flight > limit:
            self._room.clear()
            await self._room.wait()
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[bool] = loop.create_future()
        # A gzipped message's wire size says little: count a typical record's bytes instead.
        weight = size or 64 * len(events)
        self._in_flight += weight

        def settled(ok: bool) -> None:
            loop.call_soon_threadsafe(self._settled, outcome, weight, ok)

        try:
            await self._queue.put(Chunk(tag, events, Ack(settled, awaited=awaited), size=size))
        except asyncio.CancelledError:
            self._in_flight -= weight
            raise
        return outcome

    def _settled(self, outcome: asyncio.Future[bool], weight: int, ok: bool) -> None:
        self._in_flight -= weight
        self._room.set()
        if not outcome.done():
            outcome.set_result(ok)

    def _stop_listening(self) -> None:
        """The input is stopping: no new connections or messages. Chunks still queued were
        never emitted: they fail (their clients send them again); the acks of emitted ones
        still go out as the engine drains, until :meth:`close`."""
        if self._server is not None:
            self._server.close()
        for connection in self._connections.values():
            connection.stop_reading()
        while not self._queue.empty():
            self._queue.get_nowait().ack.settle(False)

    async def close(self) -> None:
        """After the engine drained: let connections send their last acks (briefly), then
        close them and the listener."""
        self._stop_listening()
        tasks = list(self._connections)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CLOSE_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=CLOSE_WAIT)
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), CLOSE_WAIT)
        if self.config.unix_path:
            with contextlib.suppress(OSError):
                os.unlink(self.config.unix_path)


def _remove_stale_socket(path: str) -> None:
    """A socket file left by a killed process would make the bind fail; anything else at
    that path is not ours to remove."""
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_UNIX:
        return f"unix:{writer.get_extra_info('sockname') or '?'}"
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
