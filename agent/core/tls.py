"""TLS contexts from Fluent Bit's ``tls.*`` options: the client side of the HTTP outputs and
the forward output, the server side of the forward input.

Like Fluent Bit, ``tls.verify On`` checks the server's chain against ``tls.ca_file`` /
``tls.ca_path`` (the system store when neither is given) and ``verify_hostname`` adds the
check of the name (the HTTP outputs' ``tls.verify_hostname``, Off by default as in Fluent
Bit; the forward output always checks it); ``tls.crt_file``/``tls.key_file`` present a
client certificate.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from logtide.agent.core.errors import PluginError


@dataclass(frozen=True, slots=True)
class TlsConfig:
    verify: bool = True
    verify_hostname: bool = False
    ca_file: str | None = None
    ca_path: str | None = None
    crt_file: str | None = None
    key_file: str | None = None
    key_passwd: str | None = None


def client_context(config: TlsConfig) -> ssl.SSLContext:
    """A client context for ``config``; unreadable files raise one-line :class:`PluginError`."""
    try:
        if config.verify:
            context = ssl.create_default_context(
                cafile=config.ca_file or None, capath=config.ca_path or None
            )
            context.check_hostname = config.verify_hostname
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if config.crt_file:
            context.load_cert_chain(
                config.crt_file, config.key_file or None, password=config.key_passwd or None
            )
    except (OSError, ssl.SSLError) as exc:
        files = ", ".join(
            path
            for path in (config.ca_file, config.ca_path, config.crt_file, config.key_file)
            if path
        )
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise PluginError(f"cannot load the TLS files ({files}): {reason}") from None
    return context


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
