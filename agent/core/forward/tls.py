"""TLS contexts for the Forward protocol's two sides, from Fluent Bit's ``tls.*`` options."""

from __future__ import annotations

import ssl

from logtide.agent.core.errors import PluginError


def server_context(
    crt_file: str | None,
    key_file: str | None,
    key_passwd: str | None = None,
    ca_file: str | None = None,
    verify_clients: bool = False,
) -> ssl.SSLContext:
    """A server context presenting ``crt_file``/``key_file``; with ``verify_clients`` it
    asks clients for a certificate signed by ``ca_file``."""
    if not crt_file or not key_file:
        raise PluginError("tls On needs tls.crt_file and tls.key_file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(crt_file, key_file, key_passwd)
        if ca_file:
            context.load_verify_locations(ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise PluginError(f"cannot load the TLS certificate or key: {exc}") from None
    if verify_clients:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(
    verify: bool,
    ca_file: str | None = None,
    crt_file: str | None = None,
    key_file: str | None = None,
    key_passwd: str | None = None,
) -> ssl.SSLContext:
    """A client context: verifying the server against ``ca_file`` (else the system's CAs)
    unless ``verify`` is off; presenting ``crt_file``/``key_file`` when given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if ca_file:
            context.load_verify_locations(ca_file)
        if crt_file and key_file:
            context.load_cert_chain(crt_file, key_file, key_passwd)
    except (OSError, ssl.SSLError) as exc:
        raise PluginError(f"cannot load the TLS CA file or client certificate: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
