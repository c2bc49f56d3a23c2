"""One client of the forward input: the handshake, then messages until the client leaves.

Each message becomes a chunk handed to the input's loop (which waits while the pipeline is
full, so a fast client is slowed through TCP). A message whose option names a ``chunk`` is
answered ``{"ack": chunk}`` only when the chunk's acknowledgement settles True, i.e. every
output that took its events has them (fsynced to disk, or accepted by a remote service);
until then the client keeps its copy. Acks go out in the order the messages came in.

Whatever a client sends that does not follow the protocol (not msgpack, wrong shapes, a
wrong shared key, a message over ``Buffer_Max_Size``) is one warning line naming the peer
and the reason; that connection closes and everything else goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from logtide.agent.core.events import Event
from logtide.agent.core.forward import handshake
from logtide.agent.core.forward.codec import ProtocolError, ack_for, decode
from logtide.agent.core.forward.stream import MessageReader
from logtide.agent.core.metrics import Metrics
from logtide.agent.inputs.forward.options import ForwardInputSettings

# Hand events to the input's pipeline (waits while it is full); the future resolves with
# their acknowledgement's outcome.
Deliver = Callable[[str, list[Event], int, bool], Awaitable["asyncio.Future[bool]"]]


class _Undelivered(Exception):
    """A chunk's events were not delivered (an output gave up on them)."""


@dataclass(slots=True)
class _Pending:
    chunk_id: str
    outcome: asyncio.Future[bool]


class Connection:
    """Serves one accepted socket until the client closes it or breaks the protocol."""

    def __init__(
        self,
        config: ForwardInputSettings,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        deliver: Deliver,
        logger: logging.Logger,
        metrics: Metrics,
        instance: str,
    ) -> None:
        self.config = config
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.deliver = deliver
        self.logger = logger
        self.metrics = metrics
        self.instance = instance
        self.prefix = config.tag_prefix or ""
        self._acks: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._reading: asyncio.Task[None] | None = None
        self._stopped = False

    async def serve(self) -> None:
        messages = MessageReader(
            self.reader, self.config.buffer_max_size, self.config.buffer_chunk_size
        )
        try:
            if self.config.key is not None and not await self._handshake(messages):
                return
            # Reading and answering run side by side: a client may send several chunks
            # before it reads the first ack. Either failing ends both.
            async with asyncio.TaskGroup() as group:
                self._reading = group.create_task(self._read(messages))
                if self._stopped:
                    self._reading.cancel()
                group.create_task(self._answer())
        except* ProtocolError as problems:
            self.metrics.add(self.instance, "malformed")
            self.logger.warning(
                "forward: %s: %s; closing the connection", self.peer, problems.exceptions[0]
            )
        except* _Undelivered as problems:
            self.logger.warning(
                "forward: %s: %s; closing the connection, the client keeps the chunk and "
                "sends it again",
                self.peer,
                problems.exceptions[0],
            )
        except* (ConnectionError, ssl.SSLError, OSError) as problems:
            self.logger.info("forward: %s: connection lost: %s", self.peer, problems.exceptions[0])
        finally:
            await self._close()

    def stop_reading(self) -> None:
        """Take no more messages (the input is stopping); the acks of chunks already taken
        are still sent as their acknowledgements settle, then the connection closes."""
        self._stopped = True
        if self._reading is not None:
            self._reading.cancel()
        self._acks.put_nowait(None)

    async def _read(self, messages: MessageReader) -> None:
        while True:
            message = await messages.next()
            if message is None:
                break
            incoming = decode(message)
            size = 0 if incoming.compressed else messages.last_size
            outcome = await self.deliver(
                self.prefix + incoming.tag, incoming.events, size, incoming.chunk is not None
            )
            if incoming.chunk is not None:
                self._acks.put_nowait(_Pending(incoming.chunk, outcome))
        # The client finished sending: answer what it is owed, then close.
        self._acks.put_nowait(None)

    async def _answer(self) -> None:
        while True:
            pending = await self._acks.get()
            if pending is None:
                return
            if not await pending.outcome:
                raise _Undelivered(f"chunk {pending.chunk_id} was not delivered")
            self.writer.write(ack_for(pending.chunk_id))
            await self.writer.drain()
            self.metrics.add(self.instance, "acks")

    async def _close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 5)

    async def _handshake(self, messages: MessageReader) -> bool:
        """HELO, PING, PONG; False (after one warning) when the client is refused."""
        assert self.config.key is not None
        helo = handshake.new_helo(bool(self.config.users))
        self.writer.write(handshake.helo_message(helo))
        await self.writer.drain()
        ping = handshake.read_ping(await messages.next())
        refused = handshake.check_ping(ping, helo, self.config.key, self.config.users)
        self.writer.write(
            handshake.pong_message(ping, helo, self.config.key, self.config.self_hostname, refused)
        )
        await self.writer.drain()
        if refused is not None:
            self.metrics.add(self.instance, "handshake_refused")
            self.logger.warning(
                "forward: %s (%s): handshake refused: %s; closing the connection",
                self.peer,
                ping.hostname,
                refused,
            )
            return False
        return True
