"""The options every HTTP output declares once by composing them: where to connect, TLS
beyond the common ``tls``/``tls.verify``/``tls.ca_file``, basic auth, body compression,
a proxy and the connection timeouts (Fluent Bit's names and defaults).

An output puts ``*transport_options(default_port=...)`` in its table and extends
:class:`HttpTransportSettings` (which extends ``OutputSettings``) with its own fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from logtide.agent.core.common_options import OutputSettings, with_net_options
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

#: Body codecs of Fluent Bit's ``compress`` (gzip from the standard library, the others
#: through cramjam, a dependency already).
COMPRESSIONS = ("gzip", "snappy", "zstd")


def transport_options(
    default_port: int, compressions: tuple[str, ...] = COMPRESSIONS
) -> tuple[Option, ...]:
    """The transport's options with this output's port default and allowed codecs."""
    return with_net_options(
        (
            Option(
                "Host", "str", "127.0.0.1", "Host name or IP address of the server.", nonempty=True
            ),
            Option("Port", "int", default_port, "TCP port of the server."),
            Option("http_User", "str", None, "User name for HTTP basic authentication."),
            Option("http_Passwd", "str", "", "Password for HTTP basic authentication."),
            Option(
                "compress",
                "enum",
                None,
                f"Compress the request body: {', '.join(compressions)} (sets Content-Encoding).",
                choices=compressions,
            ),
            Option(
                "proxy",
                "str",
                None,
                "HTTP proxy as http://host:port (HTTPS requests go through it with CONNECT).",
            ),
            Option(
                "tls.verify_hostname",
                "bool",
                False,
                "Also check that the certificate names Host (or tls.vhost); Off as in Fluent Bit.",
            ),
            Option("tls.vhost", "str", None, "Server name sent in SNI and the Host header."),
            Option("tls.ca_path", "str", None, "Directory of CA certificates for verification."),
            Option("tls.crt_file", "str", None, "Client certificate (PEM) for mutual TLS."),
            Option("tls.key_file", "str", None, "Private key (PEM) of tls.crt_file."),
            Option("tls.key_passwd", "str", None, "Password of tls.key_file."),
            Option("net.connect_timeout", "time", 10.0, "Give up connecting after this long."),
            Option("net.keepalive", "bool", True, "Reuse connections between requests."),
            Option(
                "net.keepalive_idle_timeout",
                "time",
                30.0,
                "Close a kept-alive connection idle for this long.",
            ),
        )
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpTransportSettings(OutputSettings):
    """The fields of :func:`transport_options`; an HTTP output's settings class extends it
    (and calls ``HttpTransportSettings.__post_init__(self)`` first from its own)."""

    host: str
    port: int
    http_user: str | None
    http_passwd: str
    compress: str | None
    proxy: str | None
    tls_verify_hostname: bool
    tls_vhost: str | None
    tls_ca_path: str | None
    tls_crt_file: str | None
    tls_key_file: str | None
    tls_key_passwd: str | None
    net_connect_timeout: float
    net_keepalive: bool
    net_keepalive_idle_timeout: float

    def __post_init__(self) -> None:
        OutputSettings.__post_init__(self)
        label = self.retry_error_label or f"{self.name.lower()}: "
        if not 0 < self.port < 65536:
            raise ConfigError(f"{label}Port must be 1-65535, got {self.port}", self.where("port"))
        if self.proxy is not None:
            parts = urlsplit(self.proxy)
            if parts.scheme != "http" or not parts.hostname:
                raise ConfigError(
                    f"{label}proxy must look like http://host:port, got {self.proxy!r}",
                    self.where("proxy"),
                )
        if self.tls_key_file and not self.tls_crt_file:
            raise ConfigError(f"{label}tls.key_file needs tls.crt_file", self.location)
