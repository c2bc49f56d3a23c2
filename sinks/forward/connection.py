"""The output's connection to its receiver: connect (TCP or Unix socket, TLS optional), the
shared-key handshake, writing messages and reading their acks."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from logtide.agent.core.forward import handshake
from logtide.agent.core.forward.codec import ProtocolError, read_ack
from logtide.agent.core.forward.stream import MessageReader
from logtide.agent.core.tls import TlsConfig, client_context
from logtide.sinks.forward.options import ForwardOutputSettings

# Answers (HELO, PONG, acks) are small; a bound keeps a confused peer from filling memory.
ANSWER_BYTES = 64 * 1024


class Connection:
    """One open connection; :meth:`open` makes it ready to send (handshake done)."""

    def __init__(self, config: ForwardOutputSettings) -> None:
        self.config = config
        self.where = config.unix_path or f"{config.host}:{config.port}"
        self._context: ssl.SSLContext | None = None
        if config.tls:
            self._context = client_context(
                TlsConfig(
                    verify=config.tls_verify,
                    verify_hostname=True,
                    ca_file=config.tls_ca_file,
                    crt_file=config.tls_crt_file,
                    key_file=config.tls_key_file,
                    key_passwd=config.tls_key_passwd,
                )
            )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answers: MessageReader | None = None

    @property
    def usable(self) -> bool:
        """Open, and not closed by the receiver since (an idle keepalive connection the
        receiver dropped would swallow the next write)."""
        return self._writer is not None and self._reader is not None and not self._reader.at_eof()

    async def open(self) -> None:
        config = self.config
        server_hostname = None
        if self._context is not None:
            server_hostname = config.tls_vhost or (
                config.host if not config.unix_path else "localhost"
            )
        try:
            if config.unix_path:
                connecting = asyncio.open_unix_connection(
                    config.unix_path, ssl=self._context, server_hostname=server_hostname
                )
            else:
                connecting = asyncio.open_connection(
                    config.host, config.port, ssl=self._context, server_hostname=server_hostname
                )
            reader, writer = await asyncio.wait_for(connecting, config.net_connect_timeout)
        except TimeoutError:
            raise TimeoutError(f"no connection within {config.net_connect_timeout:g}s") from None
        self._reader, self._writer = reader, writer
        self._answers = MessageReader(reader, ANSWER_BYTES, ANSWER_BYTES)
        if config.key is not None:
            await self._handshake(config.key)

    async def _handshake(self, key: str) -> None:
        login = handshake.Client(
            self.config.self_hostname, key, self.config.username, self.config.password
        )
        helo = handshake.read_helo(await self._answer("HELO"))
        salt = handshake.new_helo(False).nonce  # 16 fresh random bytes
        await self.write(login.ping(helo, salt))
        login.check_pong(await self._answer("PONG"), helo, salt)

    async def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def _answer(self, what: str) -> Any:
        assert self._answers is not None
        timeout = self.config.ack_response_timeout
        try:
            answer = await self._answers.next(timeout)
        except TimeoutError:
            raise TimeoutError(f"no {what} from the receiver within {timeout:g}s") from None
        if answer is None:
            raise ConnectionResetError(f"the receiver closed the connection before its {what}")
        return answer

    async def read_ack(self, chunk: str) -> None:
        answer = await self._answer(f"ack of chunk {chunk}")
        if isinstance(answer, list) and answer[:1] == ["HELO"]:
            raise ProtocolError("the receiver asks for the shared-key handshake: set Shared_Key")
        got = read_ack(answer)
        if got != chunk:
            raise ProtocolError(f"the receiver acknowledged chunk {got}, expected {chunk}")

    async def close(self) -> None:
        writer, self._writer, self._reader, self._answers = self._writer, None, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 2)
