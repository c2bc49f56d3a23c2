"""The one place the opensearch output touches HTTP: POST a body, get the status and the
answer. Kept this small so it can stand on the shared HTTP transport as it is.

Transport failures (refused, reset, timed out, TLS handshake) become a
:class:`RetryableDeliveryError` naming the address and the cause in one line.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import aiohttp

from logtide.agent.core.errors import RetryableDeliveryError


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes


def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Sender:
    def __init__(self, tls: bool, verify: bool, ca_file: str | None, timeout: float = 60.0) -> None:
        self._ssl: ssl.SSLContext | bool = ssl_context(verify, ca_file) if tls else False
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=10)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=True)
        try:
            async with self._session.post(url, data=body, headers=headers, ssl=self._ssl) as r:
                return Reply(r.status, await r.read())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise RetryableDeliveryError(f"POST {url}: {text}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
