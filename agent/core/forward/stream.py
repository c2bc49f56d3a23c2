"""Reading Forward messages off a socket: msgpack objects one at a time, each within a
size bound, with the wire bytes each one took."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack

from logtide.agent.core.forward.codec import ProtocolError, unpacker


class MessageReader:
    """Objects from ``reader`` as they complete; reads at most ``read_size`` bytes at a time
    and refuses an object larger than ``max_size`` (Fluent Bit's ``Buffer_Max_Size``)."""

    def __init__(self, reader: asyncio.StreamReader, max_size: int, read_size: int) -> None:
        self._reader = reader
        self._max = max_size
        self._read_size = max(1, min(read_size, max_size))
        self._stream = unpacker(max_size)
        self._consumed = 0
        self._fed = 0
        #: Wire bytes of the object :meth:`next` returned last.
        self.last_size = 0

    async def next(self, timeout: float | None = None) -> Any:
        """The next object, or ``None`` at a clean end of stream (EOF between objects).

        Raises :class:`ProtocolError` for bytes that are not msgpack, a map key no dict can
        hold, an object over the size bound or a stream cut inside an object, and
        ``TimeoutError`` after ``timeout``."""
        while True:
            try:
                value = self._stream.unpack()
            except msgpack.OutOfData:
                pass
            except (msgpack.UnpackException, ValueError) as exc:
                # msgpack's FormatError (a reserved byte such as 0xc1) carries no message.
                why = str(exc) or f"{type(exc).__name__} at byte {self._stream.tell()}"
                raise ProtocolError(f"not valid msgpack: {why}") from None
            except TypeError:
                # Valid msgpack that no dict can hold; the decoder's state is spent with it.
                raise ProtocolError(
                    f"a map key that is an array or a map (near byte {self._stream.tell()})"
                ) from None
            else:
                position = self._stream.tell()
                self.last_size, self._consumed = position - self._consumed, position
                return value
            if timeout is None:
                data = await self._reader.read(self._read_size)
            else:
                data = await asyncio.wait_for(self._reader.read(self._read_size), timeout)
            if not data:
                if self._fed > self._consumed:
                    raise ProtocolError("the connection closed in the middle of a message")
                return None
            self._fed += len(data)
            try:
                self._stream.feed(data)
            except msgpack.BufferFull:
                raise ProtocolError(
                    f"a message is larger than the buffer limit ({self._max} bytes)"
                ) from None
