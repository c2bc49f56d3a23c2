"""Log groups and streams: created on demand, remembered, forgotten when AWS loses them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from logtide.agent.core.errors import PermanentDeliveryError
from logtide.sinks.aws.retry import call_with_auto_retry, error_code

ALREADY_EXISTS = "ResourceAlreadyExistsException"
NOT_FOUND = "ResourceNotFoundException"
# Fluent Bit forgets a stream after four idle hours, so deleted streams are noticed again.
STREAM_TTL = 4 * 3600.0
# How often streams idle past their TTL are let go (each pod's file gets a stream of its
# own, so with pods coming and going for weeks they would otherwise pile up).
SWEEP_INTERVAL = 600.0

StreamKey = tuple[str, str]


class LogStreams:
    """Makes sure (group, stream) exists before events are put into it.

    A stream known to exist is cached for :data:`STREAM_TTL` seconds after its last use;
    concurrent flushes for the same stream share one creation.
    """

    def __init__(
        self,
        client: Any,
        *,
        auto_create_group: bool,
        retention_days: int,
        group_class: str,
        auto_retry: bool,
        logger: logging.Logger,
    ) -> None:
        self._client = client
        self._auto_create_group = auto_create_group
        self._retention_days = retention_days
        self._group_class = group_class.upper()
        self._auto_retry = auto_retry
        self._logger = logger
        self._expiry: dict[StreamKey, float] = {}
        self._locks: dict[StreamKey, asyncio.Lock] = {}
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL

    def touch(self, key: StreamKey) -> None:
        self._expiry[key] = time.monotonic() + STREAM_TTL

    def forget(self, key: StreamKey) -> None:
        self._expiry.pop(key, None)

    def known(self, key: StreamKey) -> bool:
        expiry = self._expiry.get(key)
        return expiry is not None and expiry > time.monotonic()

    async def ensure(self, key: StreamKey) -> None:
        if self.known(key):
            return
        self._sweep()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if self.known(key):
                return
            await self._create_stream(key, may_create_group=True)
            self.touch(key)

    def _sweep(self) -> None:
        """Let go of streams idle past their TTL, and of their locks (no await may come
        between this and taking a lock: a lock not held now has nobody about to take it)."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        for key in [key for key, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[key]
        for key in [key for key, lock in self._locks.items() if not lock.locked()]:
            if key not in self._expiry:
                del self._locks[key]

    async def _call(self, method: str, **params: Any) -> Any:
        async def call() -> Any:
            return await getattr(self._client, method)(**params)

        return await call_with_auto_retry(call, self._auto_retry)

    async def _create_stream(self, key: StreamKey, *, may_create_group: bool) -> None:
        group, stream = key
        try:
            await self._call("create_log_stream", logGroupName=group, logStreamName=stream)
            self._logger.info("created log stream %s in log group %s", stream, group)
        except ClientError as exc:
            code = error_code(exc)
            if code == ALREADY_EXISTS:
                return
            if code != NOT_FOUND or not may_create_group:
                raise
            if not self._auto_create_group:
                raise PermanentDeliveryError(
                    f"log group {group} not found and auto_create_group is Off"
                ) from exc
            await self._create_group(group)
            await self._create_stream(key, may_create_group=False)

    async def _create_group(self, group: str) -> None:
        params: dict[str, Any] = {"logGroupName": group}
        if self._group_class:
            params["logGroupClass"] = self._group_class
        try:
            await self._call("create_log_group", **params)
            self._logger.info("created log group %s", group)
        except ClientError as exc:
            if error_code(exc) != ALREADY_EXISTS:
                raise
        if self._retention_days > 0:
            await self._call(
                "put_retention_policy", logGroupName=group, retentionInDays=self._retention_days
            )
