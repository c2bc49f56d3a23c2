"""The Forward protocol's handshake: HELO, PING, PONG (``Shared_Key``, ``Self_Hostname``,
optional users).

The server opens with ``["HELO", {"nonce": n, "auth": salt, "keepalive": true}]``. The
client answers ``["PING", hostname, shared_key_salt, hex(sha512(shared_key_salt + hostname
+ nonce + shared_key)), username, hex(sha512(salt + username + password))]`` (username and
password digest empty without users). The server checks both digests and answers
``["PONG", ok, reason, its hostname, hex(sha512(shared_key_salt + its hostname + nonce +
shared_key))]``, which the client checks in turn, so each side proves it knows the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack

from logtide.agent.core.forward.codec import ProtocolError


@dataclass(frozen=True, slots=True)
class Helo:
    nonce: bytes
    auth: bytes


@dataclass(frozen=True, slots=True)
class Ping:
    hostname: str
    salt: bytes
    digest: str
    username: str
    password_digest: str


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise ProtocolError(f"{what} must be binary or a string")


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    raise ProtocolError(f"{what} must be a string")


def digest(*parts: bytes) -> str:
    return hashlib.sha512(b"".join(parts)).hexdigest()


def key_digest(salt: bytes, hostname: str, nonce: bytes, shared_key: str) -> str:
    return digest(salt, hostname.encode(), nonce, shared_key.encode())


def password_digest(auth_salt: bytes, username: str, password: str) -> str:
    return digest(auth_salt, username.encode(), password.encode())


def _pack(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


# -- the server's side ----------------------------------------------------------------------


def new_helo(users: bool) -> Helo:
    return Helo(os.urandom(16), os.urandom(16) if users else b"")


def helo_message(helo: Helo) -> bytes:
    return _pack(["HELO", {"nonce": helo.nonce, "auth": helo.auth, "keepalive": True}])


def read_ping(message: Any) -> Ping:
    if not isinstance(message, list) or len(message) != 6 or message[0] != "PING":
        raise ProtocolError("expected PING [PING, hostname, salt, digest, user, password]")
    return Ping(
        _text(message[1], "PING's hostname"),
        _bytes(message[2], "PING's shared key salt"),
        _text(message[3], "PING's shared key digest"),
        _text(message[4], "PING's username"),
        _text(message[5], "PING's password digest"),
    )


def check_ping(ping: Ping, helo: Helo, shared_key: str, users: Mapping[str, str]) -> str | None:
    """Why the client is refused (the PONG's reason), or ``None`` when it is admitted."""
    expected = key_digest(ping.salt, ping.hostname, helo.nonce, shared_key)
    if not hmac.compare_digest(expected, ping.digest):
        return "shared_key mismatch"
    if users:
        password = users.get(ping.username)
        wanted = password_digest(helo.auth, ping.username, password or "")
        if password is None or not hmac.compare_digest(wanted, ping.password_digest):
            return "username/password mismatch"
    return None


def pong_message(
    ping: Ping, helo: Helo, shared_key: str, hostname: str, refused: str | None
) -> bytes:
    if refused is not None:
        return _pack(["PONG", False, refused, "", ""])
    return _pack(
        ["PONG", True, "", hostname, key_digest(ping.salt, hostname, helo.nonce, shared_key)]
    )


# -- the client's side ----------------------------------------------------------------------


def read_helo(message: Any) -> Helo:
    if (
        not isinstance(message, list)
        or len(message) != 2
        or message[0] != "HELO"
        or not isinstance(message[1], dict)
    ):
        raise ProtocolError("expected HELO [HELO, options] from the server")
    options = message[1]
    return Helo(
        _bytes(options.get("nonce"), "HELO's nonce"),
        _bytes(options.get("auth") or b"", "HELO's auth"),
    )


@dataclass(frozen=True, slots=True)
class Client:
    """What a client proves itself with."""

    hostname: str
    shared_key: str
    username: str = ""
    password: str = ""

    def ping(self, helo: Helo, salt: bytes) -> bytes:
        user_digest = ""
        if helo.auth or self.username:
            user_digest = password_digest(helo.auth, self.username, self.password)
        return _pack(
            [
                "PING",
                self.hostname,
                salt,
                key_digest(salt, self.hostname, helo.nonce, self.shared_key),
                self.username,
                user_digest,
            ]
        )

    def check_pong(self, message: Any, helo: Helo, salt: bytes) -> None:
        """Raise :class:`ProtocolError` unless the server admitted us and knows the key."""
        if not isinstance(message, list) or len(message) != 5 or message[0] != "PONG":
            raise ProtocolError("expected PONG [PONG, ok, reason, hostname, digest]")
        _, ok, reason, hostname, server_digest = message
        if ok is not True:
            raise ProtocolError(f"the server refused the handshake: {_text(reason, 'reason')}")
        host = _text(hostname, "PONG's hostname")
        expected = key_digest(salt, host, helo.nonce, self.shared_key)
        if not hmac.compare_digest(expected, _text(server_digest, "PONG's digest")):
            raise ProtocolError("the server's shared key digest does not match (wrong Shared_Key)")
