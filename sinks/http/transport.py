"""The one HTTP sending piece of logtide's HTTP outputs (``http``, ``opensearch``/``es``).

:class:`HttpTransport` owns one ``aiohttp`` session per output instance, opened by
:meth:`HttpTransport.start` and closed by :meth:`HttpTransport.close` (the output's
``start``/``stop``); the session's connection pool is all it keeps between requests, so
it needs no task of its own. :meth:`HttpTransport.send` sends one request and returns the
answer when the server accepted it (200-205, as Fluent Bit); any other outcome raises an
:class:`~logtide.sinks.http.errors.HttpError` whose one-line message names the server,
the path and the status or the network failure, and whose ``status`` the core's
``is_retryable`` judges (``logtide.sinks.http.errors``). Nothing here retries a failed
delivery: the engine's retry loop does, except for one immediate resend on a kept-alive
connection the server had already closed (the request never reached it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict

from logtide.agent.core.compression import compressor
from logtide.agent.core.errors import PermanentDeliveryError
from logtide.agent.core.retry import Retry
from logtide.agent.core.tls import TlsConfig, client_context
from logtide.sinks.http.errors import HttpError
from logtide.sinks.http.transport_options import HttpTransportSettings

#: Fluent Bit's accepted answers; anything else is a failure (``errors.py`` judges which).
ACCEPTED = range(200, 206)
#: Bodies above this are compressed in a worker thread, so the loop is not held for long.
_THREAD_COMPRESS_BYTES = 256 * 1024
_EXCERPT_CHARS = 512


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An accepted answer: its status, headers and whole payload."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def excerpt(body: bytes) -> str:
    """An answer's payload as part of one log line: decoded, whitespace folded, capped."""
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."


def _stale_connection(exc: Exception) -> bool:
    """A kept-alive connection the server closed before our request reached it."""
    return isinstance(exc, aiohttp.ServerDisconnectedError)


class HttpTransport:
    """Sends requests to the server an output's :class:`HttpTransportSettings` describe.

    ``response_timeout`` bounds the wait for a whole answer once connected;
    ``log_response_payload`` puts an excerpt of a refused answer's payload in the error.
    """

    def __init__(
        self,
        settings: HttpTransportSettings,
        *,
        response_timeout: float = 60.0,
        log_response_payload: bool = True,
        user_agent: str = "logtide",
    ) -> None:
        self.settings = settings
        self._response_timeout = response_timeout
        self._log_payload = log_response_payload
        self._user_agent = user_agent
        self._compress = compressor(settings.compress, gzip_level=6) if settings.compress else None
        host = settings.host
        scheme = "https" if settings.tls else "http"
        bracketed = f"[{host}]" if ":" in host else host
        self.base_url = f"{scheme}://{bracketed}:{settings.port}"
        #: ``host:port``, how errors name the server.
        self.endpoint = f"{bracketed}:{settings.port}"
        self._auth: str | None = None
        if settings.http_user:
            self._auth = aiohttp.encode_basic_auth(settings.http_user, settings.http_passwd)
        self._session: aiohttp.ClientSession | None = None
        self._quick = Retry(delay=lambda _: 0.0, limit=1, retryable=_stale_connection)

    async def start(self) -> None:
        """Open the session (load the TLS files: a bad one raises ``PluginError``)."""
        if self._session is not None:
            return
        s = self.settings
        ssl_context = (
            client_context(
                TlsConfig(
                    verify=s.tls_verify,
                    verify_hostname=s.tls_verify_hostname,
                    ca_file=s.tls_ca_file,
                    ca_path=s.tls_ca_path,
                    crt_file=s.tls_crt_file,
                    key_file=s.tls_key_file,
                    key_passwd=s.tls_key_passwd,
                )
            )
            if s.tls
            else False
        )
        connector = aiohttp.TCPConnector(
            ssl=ssl_context,
            force_close=not s.net_keepalive,
            keepalive_timeout=s.net_keepalive_idle_timeout if s.net_keepalive else None,
        )
        timeout = aiohttp.ClientTimeout(
            total=s.net_connect_timeout + self._response_timeout,
            sock_connect=s.net_connect_timeout,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=True, trust_env=False
        )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def encode(self, body: bytes) -> bytes:
        """``body`` as it goes on the wire (compressed when ``compress`` is set)."""
        if self._compress is None:
            return body
        if len(body) > _THREAD_COMPRESS_BYTES:
            return await asyncio.to_thread(self._compress, body)
        return self._compress(body)

    def _headers(
        self, content_type: str | None, extra: Sequence[tuple[str, str]], unique: bool
    ) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        if content_type:
            headers["Content-Type"] = content_type
        if self._compress is not None:
            headers["Content-Encoding"] = str(self.settings.compress)
        if self._auth:
            headers["Authorization"] = self._auth
        headers["User-Agent"] = self._user_agent
        if self.settings.tls_vhost:
            headers["Host"] = self.settings.tls_vhost
        for name, value in extra:
            if unique:
                headers[name] = value
            else:
                headers.add(name, value)
        return headers

    async def send(
        self,
        path: str,
        body: bytes,
        *,
        method: str = "POST",
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        unique_headers: bool = False,
    ) -> HttpResponse:
        """Send ``body`` (compressed here when ``compress`` is set) to ``path``.

        ``headers`` follow the transport's own (Content-Type, Content-Encoding, basic auth,
        User-Agent); with ``unique_headers`` a header replaces an earlier one of its name,
        else both are sent. Returns the accepted answer; raises ``HttpError`` otherwise.
        """
        session = self._session
        if session is None:
            raise PermanentDeliveryError(f"{self.endpoint}: HTTP transport used before start()")
        wire = await self.encode(body)
        all_headers = self._headers(content_type, headers, unique_headers)
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        s = self.settings

        async def attempt() -> HttpResponse:
            async with session.request(
                method,
                url,
                data=wire,
                headers=all_headers,
                proxy=s.proxy,
                server_hostname=s.tls_vhost,
            ) as answer:
                payload = await answer.read()
                return HttpResponse(answer.status, answer.headers, payload)

        try:
            response = await self._quick.run(attempt)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise HttpError(
                f"{self.endpoint}: TLS certificate not accepted: {exc.certificate_error}"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
            raise HttpError(f"{self.endpoint}: cannot connect: {reason}") from None
        except TimeoutError:
            raise HttpError(
                f"{self.endpoint}{path}: no answer within "
                f"{s.net_connect_timeout + self._response_timeout:g}s"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise HttpError(f"{self.endpoint}{path}: {reason}") from None
        if response.status in ACCEPTED:
            return response
        message = f"{self.endpoint}{path}: HTTP status={response.status}"
        if self._log_payload and response.body:
            message += f": {excerpt(response.body)}"
        raise HttpError(message, status=response.status, body=response.body)
