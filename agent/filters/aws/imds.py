"""A small client of the EC2 instance metadata service (IMDS), v1 or v2.

v2 asks for a session token with ``PUT /latest/api/token`` (the TTL in
``X-aws-ec2-metadata-token-ttl-seconds``) and sends it in ``X-aws-ec2-metadata-token`` on
every GET; a 401 means the token expired or was never valid, so it is fetched again and the
GET repeated once. v1 sends plain GETs. Every request has a short timeout (Fluent Bit's one
second): on EC2 the service answers in milliseconds, and a request that hangs (the token
PUT does when the instance's hop limit is 1 and we run in a container) must fail fast.
"""

from __future__ import annotations

from typing import Literal

import aiohttp

TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
#: Six hours, the most IMDS grants (what Fluent Bit asks for).
TOKEN_TTL_SECONDS = 21600
REQUEST_TIMEOUT = 1.0


class ImdsError(Exception):
    """A metadata request failed. ``unreachable`` when no HTTP answer came at all (refused,
    timed out): asking for the other fields in the same round is pointless then.
    ``timed_out`` when that was for want of an answer in time. ``not_found`` for a 404 (no
    such path: e.g. instance tags not enabled)."""

    def __init__(
        self,
        message: str,
        *,
        unreachable: bool = False,
        timed_out: bool = False,
        not_found: bool = False,
    ) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.timed_out = timed_out
        self.not_found = not_found


class ImdsClient:
    """GETs metadata text. Open it with ``async with`` for one round of requests (one
    connection pool); the v2 token outlives the rounds until IMDS rejects it."""

    def __init__(
        self,
        endpoint: str,
        version: Literal["v1", "v2"],
        *,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.version = version
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self.token_fetches = 0

    async def __aenter__(self) -> ImdsClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str) -> str:
        """The body of ``GET path`` as text; raise :class:`ImdsError` for anything but 200."""
        if self.version == "v1":
            status, body = await self._request("GET", path, {})
        else:
            if self._token is None:
                await self._fetch_token()
            status, body = await self._request("GET", path, self._token_headers())
            if status == 401:
                self._token = None
                await self._fetch_token()
                status, body = await self._request("GET", path, self._token_headers())
        if status != 200:
            raise ImdsError(f"GET {path}: HTTP {status}", not_found=status == 404)
        return body

    def _token_headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self._token or ""}

    async def _fetch_token(self) -> None:
        self.token_fetches += 1
        headers = {TOKEN_TTL_HEADER: str(TOKEN_TTL_SECONDS)}
        try:
            status, body = await self._request("PUT", TOKEN_PATH, headers)
        except ImdsError as exc:
            if not exc.timed_out:
                raise
            # What a hop limit of 1 looks like from a pod: the answer to the PUT is dropped.
            raise ImdsError(
                f"{exc} (in a container, IMDSv2 needs the instance's metadata hop limit set "
                "to 2, or use imds_version v1)",
                unreachable=True,
                timed_out=True,
            ) from None
        token = body.strip()
        if status != 200 or not token:
            raise ImdsError(f"PUT {TOKEN_PATH} (IMDSv2 token): HTTP {status}")
        self._token = token

    async def _request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
        if self._session is None:
            raise RuntimeError("ImdsClient used outside 'async with'")
        try:
            async with self._session.request(
                method, self.endpoint + path, headers=headers, allow_redirects=False
            ) as resp:
                return resp.status, await resp.text(errors="replace")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            reason = str(exc) or type(exc).__name__
            if timed_out:
                reason = f"no answer within {self._timeout.total:g}s"
            raise ImdsError(
                f"{method} {path}: {reason}", unreachable=True, timed_out=timed_out
            ) from None
