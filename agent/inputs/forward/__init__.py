"""The ``forward`` input: a Fluent Forward protocol v1 server (TCP or Unix socket, TLS,
shared-key handshake), acknowledging a ``chunk`` only once its events are delivered.

- ``options``: the option table (Fluent Bit's in_forward names) and its checks.
- ``connection.Connection``: one client: handshake, messages, acks.
- ``input.ForwardInput``: the plugin: the listener, and the loop that emits chunks.
"""

from logtide.agent.inputs.forward.input import ForwardInput

__all__ = ["ForwardInput"]
