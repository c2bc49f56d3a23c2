"""Asynchronous access to pod metadata: a small API-server/kubelet client and a cache.

Filters are synchronous callables, so the ``kubernetes`` filter never waits on the network:
it asks :class:`MetadataCache` for what is known, and the cache schedules fetches in the
engine's task group. A failing API server puts the cache into exponential back-off, so a
cluster outage costs one request per back-off period instead of one per chunk, and one
warning line a minute at most.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from logtide.agent.core.plugins import Spawn

K = TypeVar("K", bound=Hashable)

MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0
# While the source stays down, its failure is logged at most this often, not per retry.
DOWN_WARN_INTERVAL = 60.0


class KubeApiError(Exception):
    """A metadata request failed. ``transient`` failures (network, 5xx, 429) back off globally;
    the others (403, 404, oversized answer) only for the object asked for."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str
    ca_file: str | None
    ca_path: str | None
    token_file: str | None
    token_ttl: float
    verify: bool
    vhost: str | None
    buffer_size: int
    check_hostname: bool = True
    timeout: float = 10.0


class KubeClient:
    """GETs JSON from the API server or the kubelet with the pod's service-account token.

    The token is re-read every ``token_ttl`` seconds because projected service-account tokens
    rotate; it only ever goes into the Authorization header, never into a log line.
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._token: str | None = None
        self._token_read_at = float("-inf")
        self._ssl: ssl.SSLContext | bool | None = None

    def _headers(self) -> dict[str, str]:
        now = time.monotonic()
        path = self.config.token_file
        if path and now - self._token_read_at >= self.config.token_ttl:
            self._token_read_at = now
            try:
                with open(path, encoding="utf-8") as handle:
                    self._token = handle.read().strip() or None
            except OSError:
                self._token = None
        headers = {"User-Agent": "logtide", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self.config.vhost:
            headers["Host"] = self.config.vhost
        return headers

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if not self.config.base_url.startswith("https://"):
            return True
        if self._ssl is None:
            if not self.config.verify:
                self._ssl = False
            else:
                cafile = self.config.ca_file
                if cafile and not os.path.exists(cafile):
                    cafile = None
                capath = self.config.ca_path or None
                context = ssl.create_default_context(cafile=cafile, capath=capath)
                context.check_hostname = self.config.check_hostname
                self._ssl = context
        return self._ssl

    async def get_json(self, path: str, *, limited: bool = True) -> Any:
        """GET ``path``; ``limited`` applies Buffer_Size to the answer as Fluent Bit does."""
        # Imported on the first request: a node reading metadata from the preload folder
        # never makes one, and aiohttp is a fifth of a second of start-up.
        import aiohttp

        url = self.config.base_url.rstrip("/") + path
        limit = self.config.buffer_size if limited else 0
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(
                    url,
                    headers=self._headers(),
                    ssl=self._ssl_context(),
                    server_hostname=self.config.vhost,
                ) as resp,
            ):
                if resp.status != 200:
                    transient = resp.status >= 500 or resp.status == 429
                    raise KubeApiError(f"GET {path}: HTTP {resp.status}", transient=transient)
                body = bytearray()
                async for piece in resp.content.iter_chunked(65536):
                    body += piece
                    if limit and len(body) > limit:
                        raise KubeApiError(
                            f"GET {path}: answer larger than Buffer_Size ({limit} bytes); "
                            "raise Buffer_Size (0 = unlimited)",
                            transient=False,
                        )
        except KubeApiError:
            raise
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or str(exc.os_error)
            raise KubeApiError(
                f"GET {path}: cannot connect to {exc.host}:{exc.port}: {reason}", transient=True
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise KubeApiError(f"GET {path}: {reason}", transient=True) from None
        try:
            return orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise KubeApiError(f"GET {path}: answer is not JSON", transient=False) from None


def read_meta_file(folder: str | None, name: str) -> dict[str, Any] | None:
    """The JSON object in ``folder/name`` (Kube_Meta_Preload_Cache_Dir); None when absent."""
    if folder is None:
        return None
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KubeApiError(f"{path}: {exc.strerror or exc}", transient=False) from None
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise KubeApiError(f"{path}: not JSON", transient=False) from None
    if not isinstance(body, dict):
        raise KubeApiError(f"{path}: not a JSON object", transient=False)
    return body


Fetcher = Callable[[K], Awaitable[dict[K, Any]]]

# Objects a cache holds at most. A node runs ~110 pods at a time, but with pods coming and
# going for weeks (a CronJob's every minute) the ones long gone would pile up; past this,
# the half least recently asked for are let go (Fluent Bit's cache holds 256, evicting).
MAX_ENTRIES = 4096


@dataclass(slots=True)
class _Entry:
    value: Any
    fetched_at: float
    used: float


class MetadataCache(Generic[K]):
    """Cached objects by key, refreshed in the background, with back-off on failure.

    ``fetch(key)`` returns every object it learned (a kubelet pod list fills the whole node
    at once). ``group(key)`` names the request that serves a key, so concurrent misses of
    the same request wait on one fetch. A ``ttl`` of 0 keeps entries forever; an expired
    entry keeps being served while its refresh is in flight.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetcher[K],
        *,
        spawn: Spawn,
        logger: logging.Logger,
        ttl: float = 0.0,
        group: Callable[[K], Hashable] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._spawn = spawn
        self._logger = logger
        self._ttl = ttl
        self._group = group or (lambda key: key)
        self._clock = clock
        self._entries: dict[K, _Entry] = {}
        self._inflight: set[Hashable] = set()
        self._key_retry: dict[K, tuple[float, float]] = {}
        self._down_until = float("-inf")
        self._down_backoff = 0.0
        self._down_warned_at = float("-inf")
        self.fetches = 0
        self.failures = 0

    def get(self, key: K) -> Any | None:
        """The cached object (possibly stale) or None; schedules a fetch when due."""
        entry = self._entries.get(key)
        now = self._clock()
        if entry is not None:
            entry.used = now
            if self._ttl <= 0 or now - entry.fetched_at < self._ttl:
                return entry.value
        if self._due(key, now):
            group = self._group(key)
            self._inflight.add(group)
            self._spawn(self._refresh(key, group), f"{self.name}-fetch")
        return entry.value if entry is not None else None

    def put(self, key: K, value: Any) -> None:
        now = self._clock()
        entry = self._entries.get(key)
        self._entries[key] = _Entry(value, now, now if entry is None else entry.used)
        self._key_retry.pop(key, None)
        if len(self._entries) > MAX_ENTRIES:
            by_use = sorted(self._entries, key=lambda known: self._entries[known].used)
            for gone in by_use[: len(by_use) - MAX_ENTRIES // 2]:
                del self._entries[gone]
        if len(self._key_retry) > MAX_ENTRIES:
            self._key_retry.clear()  # the back-off of keys long gone (404s), mostly

    async def load(self, key: K) -> None:
        """Fetch ``key`` now (start-up warm-up); failures only back off, never raise."""
        group = self._group(key)
        if group in self._inflight:
            return
        self._inflight.add(group)
        await self._refresh(key, group)

    def _due(self, key: K, now: float) -> bool:
        if self._group(key) in self._inflight or now < self._down_until:
            return False
        retry = self._key_retry.get(key)
        return retry is None or now >= retry[0]

    async def _refresh(self, key: K, group: Hashable) -> None:
        try:
            self.fetches += 1
            found = await self._fetch(key)
        except KubeApiError as exc:
            self.failures += 1
            self._failed(key, exc)
        else:
            for found_key, value in found.items():
                self.put(found_key, value)
            if self._down_backoff:
                self._logger.warning("%s: source is back; metadata resumes", self.name)
            self._down_backoff = 0.0
            self._down_warned_at = float("-inf")
            if key not in found:
                self._failed(key, KubeApiError(f"{key} not found", transient=False))
        finally:
            self._inflight.discard(group)

    def _failed(self, key: K, exc: KubeApiError) -> None:
        now = self._clock()
        if exc.transient:
            self.mark_down(exc)
            return
        _, previous = self._key_retry.get(key, (0.0, 0.0))
        backoff = min(MAX_BACKOFF, max(MIN_BACKOFF, previous * 2))
        self._key_retry[key] = (now + backoff, backoff)
        self._logger.warning("%s: %s; retry in %.0fs", self.name, exc, backoff)

    def mark_down(self, exc: KubeApiError) -> None:
        """The source failed as a whole (network, 5xx, 429): back every fetch off, doubling,
        and warn at most once per DOWN_WARN_INTERVAL while it stays down."""
        now = self._clock()
        self._down_backoff = min(MAX_BACKOFF, max(MIN_BACKOFF, self._down_backoff * 2))
        self._down_until = now + self._down_backoff
        if now - self._down_warned_at < DOWN_WARN_INTERVAL:
            return
        self._down_warned_at = now
        self._logger.warning(
            "%s: %s; records keep flowing without API metadata, retry in %.0fs",
            self.name,
            exc,
            self._down_backoff,
        )
