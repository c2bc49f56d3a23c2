"""The ``forward`` output: Fluent's Forward protocol v1 to Fluentd, Fluent Bit or logtide.

- ``options``: the option table (Fluent Bit's out_forward names) and its checks.
- ``messages``: events -> PackedForward messages within a size, each with its chunk id.
- ``connection``: the socket (TCP/Unix, TLS), the handshake, writing, reading acks.
- ``errors``: failures as retryable or permanent delivery errors.
- ``output.ForwardOutput``: the plugin.
"""

from logtide.sinks.forward.output import ForwardOutput

__all__ = ["ForwardOutput"]
