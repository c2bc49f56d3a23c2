"""Fixtures for the s3 output against the moto server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from logtide.agent.core.retry import Backoff
from logtide.sinks.s3 import S3Output
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

BUCKET = "logs"

Running = Callable[..., AbstractAsyncContextManager[S3Output]]


@pytest.fixture
def s3(moto: MotoServer) -> Any:
    client = moto.client("s3")
    client.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def running(moto: MotoServer, s3: Any, store_dir: Path) -> Running:
    """``async with running(**options) as out``: a started S3Output, stopped at the end."""

    @asynccontextmanager
    async def start(
        *, endpoint: str | None = None, stop: bool = True, **options: Any
    ) -> AsyncIterator[S3Output]:
        values: dict[str, Any] = {
            "bucket": BUCKET,
            "region": moto.region,
            "endpoint": endpoint or moto.endpoint,
            "store_dir": str(store_dir),
        }
        values.update(options)
        async with plugin_context("s3.0", once=True) as context:
            output = build(S3Output, context, **values)
            output.backoff = Backoff(0.01, 0.05)
            output.tick = 0.05
            await output.start()
            try:
                yield output
            finally:
                if stop:
                    await output.stop()

    return start


class Helper:
    """Reads what reached the bucket, and simulates crashes."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """Every object in the bucket: key -> stored bytes."""
        found: dict[str, bytes] = {}
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        for item in listing.get("Contents", []):
            body = self.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            found[item["Key"]] = body
        return found

    @staticmethod
    def lines(body: bytes) -> list[dict[str, Any]]:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        return [orjson.loads(line) for line in body.splitlines() if line]

    @staticmethod
    async def crash(output: S3Output) -> None:
        """What kill -9 leaves: files as they are, the directory lock released."""
        output._stopping = True
        output.store.close()
        if output._clients is not None:
            await output._clients.close()


@pytest.fixture
def s3h(s3: Any) -> Helper:
    return Helper(s3)
