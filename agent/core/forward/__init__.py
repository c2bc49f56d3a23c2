"""Fluent's Forward protocol v1, shared by the ``forward`` input and output.

:mod:`.codec` is the wire format (the four modes, EventTime, the option map, acks),
:mod:`.handshake` the HELO/PING/PONG exchange of ``Shared_Key``, :mod:`.stream` reading
messages off a socket within a size bound, and :mod:`.tls` the TLS contexts either side uses.
"""

from logtide.agent.core.forward.codec import (
    Incoming,
    ProtocolError,
    ack_for,
    decode,
    encode,
    new_chunk_id,
    read_ack,
)

__all__ = [
    "Incoming",
    "ProtocolError",
    "ack_for",
    "decode",
    "encode",
    "new_chunk_id",
    "read_ack",
]
