"""The forward output's option table (Fluent Bit's out_forward names and defaults, its
network and TLS options, and Fluentd's ``ack_response_timeout``) and its settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from logtide.agent.core.common_options import (
    COMMON_OUTPUT_OPTIONS,
    OutputSettings,
    with_net_options,
)
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.core.record_accessor import Template

OPTIONS: tuple[Option, ...] = with_net_options(
    (
        *COMMON_OUTPUT_OPTIONS,
        Option("Host", "str", "127.0.0.1", "The receiver's host."),
        Option("Port", "int", 24224, "The receiver's TCP port."),
        Option("Unix_Path", "str", None, "Connect to this Unix socket instead of Host/Port."),
        Option(
            "Tag",
            "str",
            None,
            "Tag the records are sent under (default: their own); $TAG and $key are expanded.",
        ),
        Option(
            "Time_as_Integer",
            "bool",
            False,
            "Send times as whole seconds (Fluentd v0.12) instead of EventTime.",
        ),
        Option("Send_options", "bool", False, "Send the option map (size) with every message."),
        Option(
            "Require_ack_response",
            "bool",
            False,
            "Ask the receiver to acknowledge each chunk; records count as delivered only then.",
        ),
        Option(
            "ack_response_timeout",
            "time",
            190.0,
            "Seconds to wait for an ack before the chunk is retried (Fluentd's default).",
        ),
        Option("Compress", "str", None, "gzip: send CompressedPackedForward."),
        Option("Shared_Key", "str", None, "Do the handshake with this shared key."),
        Option("Empty_Shared_Key", "bool", False, "Do the handshake with an empty shared key."),
        Option("Self_Hostname", "str", "localhost", "Hostname this side gives in the handshake."),
        Option("Username", "str", "", "User name for the handshake's user authentication."),
        Option("Password", "str", "", "Password for the handshake's user authentication."),
        Option(
            "Retain_Metadata_In_Forward_Mode",
            "bool",
            True,
            "Accepted for compatibility; logtide's events carry no metadata.",
        ),
        Option(
            "Fluentd_Compat",
            "bool",
            False,
            "Accepted for compatibility; it concerns metrics and traces, logtide forwards logs.",
        ),
        Option("net.connect_timeout", "time", 10.0, "Seconds to wait for a connection."),
        Option("net.keepalive", "bool", True, "Keep the connection open between flushes."),
        Option("tls.crt_file", "str", None, "Client certificate (PEM), for receivers that ask."),
        Option("tls.key_file", "str", None, "Private key of tls.crt_file (PEM)."),
        Option("tls.key_passwd", "str", None, "Password of tls.key_file."),
        Option(
            "tls.vhost", "str", None, "Server name to check the certificate for (default Host)."
        ),
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardOutputSettings(OutputSettings):
    host: str
    port: int
    unix_path: str | None
    tag: str | None
    time_as_integer: bool
    send_options: bool
    require_ack_response: bool
    ack_response_timeout: float
    compress: str | None
    shared_key: str | None
    empty_shared_key: bool
    self_hostname: str
    username: str
    password: str
    retain_metadata_in_forward_mode: bool
    fluentd_compat: bool
    net_connect_timeout: float
    net_keepalive: bool
    tls_crt_file: str | None
    tls_key_file: str | None
    tls_key_passwd: str | None
    tls_vhost: str | None
    #: The handshake's key ("" with Empty_Shared_Key); None: no handshake.
    key: str | None = field(init=False)
    #: Tag as a template (None: each record keeps its tag).
    tag_template: Template | None = field(init=False)

    def __post_init__(self) -> None:
        OutputSettings.__post_init__(self)
        if self.compress is not None and self.compress.lower() not in ("gzip", "none", ""):
            raise ConfigError(
                f"output 'forward': Compress {self.compress!r} is not supported (use gzip)",
                self.where("compress"),
            )
        self._derive("key", "" if self.empty_shared_key else self.shared_key)
        self._derive("tag_template", Template(self.tag) if self.tag else None)
        if not 0 < self.port <= 65535 and not self.unix_path:
            raise ConfigError(
                f"output 'forward': Port {self.port} is not a TCP port", self.where("port")
            )
        if self.ack_response_timeout <= 0:
            raise ConfigError(
                "output 'forward': ack_response_timeout must be positive",
                self.where("ack_response_timeout"),
            )

    @property
    def gzip(self) -> bool:
        return (self.compress or "").lower() == "gzip"
