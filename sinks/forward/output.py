"""The ``forward`` output: each flush is sent as PackedForward messages (as Fluent Bit's
out_forward sends them; CompressedPackedForward with ``Compress gzip``) over one kept-open
connection.

With ``Require_ack_response`` a flush returns only once the receiver acknowledged every
message's chunk, so the events' acknowledgement (and the input's checkpoint behind it)
moves only then; a refused or reset connection, or an ack not in within
``ack_response_timeout``, fails the flush with the messages not yet acknowledged, which the
engine retries with backoff. Without it, a flush returns once the bytes are written to the
socket (Fluent Bit's behaviour): a receiver that dies with them unread loses them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from logtide.agent.core.errors import PermanentDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.forward.connection import Connection
from logtide.sinks.forward.errors import delivery_error
from logtide.sinks.forward.messages import Outgoing, build
from logtide.sinks.forward.options import OPTIONS, ForwardOutputSettings


class ForwardOutput(OutputPlugin[ForwardOutputSettings]):
    name: ClassVar[str] = "forward"
    description: ClassVar[str] = "Send records over Fluent's Forward protocol (Fluentd/Fluent Bit)."
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        self._connection: Connection | None = None

    async def start(self) -> None:
        # Loads the TLS files now: a missing CA file is a start-up error, not a retry loop.
        self._connection = Connection(self.config)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def flush(self, tag: str, events: list[Event]) -> None:
        connection = self._connection
        if connection is None:
            raise PermanentDeliveryError("forward output used before start()")
        messages = build(tag, events, self.config)
        confirmed = 0
        try:
            if not connection.usable:
                await connection.close()
                await connection.open()
            for message in messages:
                await connection.write(message.data)
            if self.config.require_ack_response:
                for message in messages:
                    assert message.chunk is not None
                    await connection.read_ack(message.chunk)
                    confirmed += 1
            else:
                confirmed = len(messages)
        except Exception as exc:
            await connection.close()
            raise delivery_error(connection.where, exc, _events(messages[confirmed:])) from exc
        finally:
            if not self.config.net_keepalive:
                await connection.close()
        self.context.metrics.add(self.context.instance, "sent_messages", len(messages))


def _events(messages: list[Outgoing]) -> list[Event]:
    return [event for message in messages for event in message.events]
