"""The forward input's option table (Fluent Bit's in_forward names and defaults, plus its
network and TLS options) and the typed settings it binds to."""

from __future__ import annotations

from dataclasses import dataclass, field

from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

OPTIONS: tuple[Option, ...] = (
    *COMMON_INPUT_OPTIONS,
    Option("Listen", "str", "0.0.0.0", "Address to listen on (TCP)."),
    Option("Port", "int", 24224, "TCP port to listen on."),
    Option("Unix_Path", "str", None, "Listen on this Unix socket instead of TCP."),
    Option("Unix_Perm", "str", None, "Permissions of the Unix socket, in octal (e.g. 0660)."),
    Option("Tag_Prefix", "str", None, "Put this before every incoming tag."),
    Option("Shared_Key", "str", None, "Require the handshake with this shared key."),
    Option(
        "Empty_Shared_Key",
        "bool",
        False,
        "Require the handshake with an empty shared key.",
    ),
    Option("Self_Hostname", "str", "localhost", "Hostname this side gives in the handshake."),
    Option(
        "security.users",
        "str",
        [],
        "'username password' a client must present in the handshake; repeatable.",
        multiple=True,
    ),
    Option(
        "Buffer_Chunk_Size",
        "size",
        1024000,
        "Bytes read from a connection at a time.",
    ),
    Option(
        "Buffer_Max_Size",
        "size",
        6144000,
        "Largest message accepted; a larger one closes its connection.",
    ),
    Option("Workers", "int", 1, "Accepted for compatibility; one listener serves all."),
    Option("tls", "bool", False, "Serve TLS (needs tls.crt_file and tls.key_file)."),
    Option(
        "tls.verify",
        "bool",
        True,
        "With tls.ca_file: require client certificates signed by it.",
    ),
    Option("tls.ca_file", "str", None, "CA bundle client certificates are checked against."),
    Option("tls.crt_file", "str", None, "The server's certificate (PEM)."),
    Option("tls.key_file", "str", None, "The server's private key (PEM)."),
    Option("tls.key_passwd", "str", None, "Password of tls.key_file."),
    Option("tls.debug", "int", 1, "Accepted for compatibility."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardInputSettings(InputSettings):
    listen: str
    port: int
    unix_path: str | None
    unix_perm: str | None
    tag_prefix: str | None
    shared_key: str | None
    empty_shared_key: bool
    self_hostname: str
    security_users: list[str]
    buffer_chunk_size: int
    buffer_max_size: int
    workers: int
    tls: bool
    tls_verify: bool
    tls_ca_file: str | None
    tls_crt_file: str | None
    tls_key_file: str | None
    tls_key_passwd: str | None
    tls_debug: int
    #: The key the handshake checks ("" with Empty_Shared_Key), None: no handshake.
    key: str | None = field(init=False)
    #: security.users as name -> password.
    users: dict[str, str] = field(init=False)
    #: Unix_Perm as a number.
    mode: int | None = field(init=False)

    def __post_init__(self) -> None:
        def fail(message: str, attribute: str | None = None, index: int = 0) -> ConfigError:
            return ConfigError(f"input 'forward': {message}", self.where(attribute, index))

        users: dict[str, str] = {}
        for index, pair in enumerate(self.security_users):
            name, _, password = pair.strip().partition(" ")
            if not name or not password.strip():
                raise fail(
                    f"security.users {pair!r} must be 'username password'",
                    "security_users",
                    index,
                )
            users[name] = password.strip()
        self._derive("users", users)
        key = "" if self.empty_shared_key else self.shared_key
        if users and key is None:
            raise fail("security.users needs Shared_Key or Empty_Shared_Key")
        self._derive("key", key)
        mode = None
        if self.unix_perm is not None:
            try:
                mode = int(self.unix_perm, 8) & 0o7777
            except ValueError:
                raise fail(
                    f"Unix_Perm {self.unix_perm!r} is not an octal mode", "unix_perm"
                ) from None
        self._derive("mode", mode)
        if self.tls and not (self.tls_crt_file and self.tls_key_file):
            raise fail("tls On needs tls.crt_file and tls.key_file")
        if not 0 <= self.port <= 65535:
            raise fail(f"Port {self.port} is not a TCP port", "port")
        for attribute in ("buffer_chunk_size", "buffer_max_size"):
            if getattr(self, attribute) < 1:
                raise fail("Buffer_Chunk_Size and Buffer_Max_Size must be positive", attribute)
