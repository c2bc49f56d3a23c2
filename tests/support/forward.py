"""Forward protocol test helpers: a small client (handshake, messages, reading acks) and an
in-process pipeline with a ``forward`` input whose address tests can connect to."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

from logtide.agent.api import Pipeline, RunningPipeline
from logtide.agent.core.forward import handshake
from logtide.agent.core.forward.stream import MessageReader
from logtide.agent.inputs.forward import ForwardInput


class Client:
    """One connection to a forward server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.messages = MessageReader(reader, 1 << 20, 1 << 16)

    @classmethod
    async def connect(
        cls,
        address: tuple[str, int] | str,
        *,
        context: ssl.SSLContext | None = None,
        login: handshake.Client | None = None,
    ) -> Client:
        if isinstance(address, str):
            reader, writer = await asyncio.open_unix_connection(address, ssl=context)
        else:
            host, port = address
            server_hostname = "localhost" if context else None
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=server_hostname
            )
        client = cls(reader, writer)
        if login is not None:
            helo = handshake.read_helo(await client.read())
            salt = b"0123456789abcdef"
            await client.send(login.ping(helo, salt))
            login.check_pong(await client.read(), helo, salt)
        return client

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float = 10) -> Any:
        return await self.messages.next(timeout)

    async def closed(self, timeout: float = 10) -> bool:
        """True once the server closed the connection (EOF, or a reset)."""
        try:
            return await asyncio.wait_for(self.reader.read(1 << 16), timeout) == b""
        except ConnectionError:
            return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def forward_input(running: RunningPipeline) -> ForwardInput:
    return next(p for p in running.engine.inputs if isinstance(p, ForwardInput))


async def address_of(running: RunningPipeline, timeout: float = 10) -> tuple[str, int] | str:
    plugin = forward_input(running)
    for _ in range(int(timeout / 0.02)):
        if plugin.address is not None:
            address = plugin.address
            if isinstance(address, tuple):
                return ("127.0.0.1", address[1])
            return address
        await asyncio.sleep(0.02)
    raise AssertionError("the forward input did not start listening")


@contextlib.asynccontextmanager
async def serving(config: str) -> AsyncIterator[RunningPipeline]:
    """Run ``config`` (which has a forward input) in-process until the block ends."""
    async with Pipeline.from_string(config).running() as running:
        try:
            yield running
        finally:
            running.engine.request_stop()
