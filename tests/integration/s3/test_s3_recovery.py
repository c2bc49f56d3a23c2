"""Restarts and crashes: $INDEX, leftover buffers, in-flight multipart uploads, no duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

BUCKET = "logs"  # created by the conftest's s3 fixture
T0 = 1795744014.715089  # 2026-11-27T01:46:54.715089Z


def events(count: int, first: int = 0, pad: int = 0) -> list[Any]:
    return [(T0 + i, {"n": first + i, "pad": "x" * pad}) for i in range(count)]


def numbers(s3h: Any) -> list[int]:
    return sorted(r["n"] for body in s3h.objects().values() for r in s3h.lines(body))


class PausingClient:
    """Wraps the S3 client: ``upload_part`` hangs after ``allow`` calls (a frozen process)."""

    def __init__(self, client: Any, allow: int) -> None:
        self._client = client
        self.allow = allow
        self.parts: list[int] = []
        self.reached = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def upload_part(self, **kwargs: Any) -> Any:
        if len(self.parts) >= self.allow:
            self.reached.set()
            await asyncio.Event().wait()
        self.parts.append(kwargs["PartNumber"])
        return await self._client.upload_part(**kwargs)


async def test_index_survives_restart(running, s3h) -> None:
    fmt = "/logs/$TAG/$INDEX.log"
    async with running(s3_key_format=fmt) as out:
        await out.flush("app", events(2))
    async with running(s3_key_format=fmt) as out:
        await out.flush("app", events(2, first=2))
    # a crash after the buffer was created must not reuse its index either
    async with running(s3_key_format=fmt, stop=False) as out:
        await out.flush("app", events(1, first=4))
        await s3h.crash(out)
    async with running(s3_key_format=fmt) as out:
        await out.flush("app", events(1, first=5))
    assert sorted(s3h.objects()) == [
        "logs/app/0.log",
        "logs/app/1.log",
        "logs/app/2.log",
        "logs/app/3.log",
    ]
    assert numbers(s3h) == list(range(6))


async def test_leftover_buffers_are_uploaded_on_start(running, s3h) -> None:
    async with running(stop=False) as out:
        await out.flush("app", events(10))
        await s3h.crash(out)
    assert s3h.objects() == {}
    async with running():
        pass
    assert numbers(s3h) == list(range(10))


async def test_crash_between_upload_and_cleanup_leaves_no_duplicate(running, s3h) -> None:
    async with running(stop=False) as out:
        await out.flush("app", events(10))
        (buffer,) = out.store.buffers.values()
        out.store.seal(buffer)
        assert out._uploader is not None
        await out._uploader.upload(buffer)  # S3 has the object; the journal still lists it
        await s3h.crash(out)
    first = s3h.objects()
    assert len(first) == 1
    async with running() as again:
        pass
    assert again.store.buffers == {}
    assert s3h.objects().keys() == first.keys()
    assert numbers(s3h) == list(range(10))


async def _crash_mid_multipart(running, s3h) -> PausingClient:
    async with running(total_file_size="10M", upload_chunk_size="5M", stop=False) as out:
        assert out._uploader is not None
        pausing = PausingClient(out._uploader.client, allow=1)
        out._uploader.client = pausing
        await out.flush("app", events(11 * 1024, pad=1000))  # seals at 10 MiB: 3 parts
        await asyncio.wait_for(pausing.reached.wait(), 20)
        await s3h.crash(out)
    return pausing


async def test_restart_resumes_an_inflight_multipart_upload(running, s3h, s3) -> None:
    first = await _crash_mid_multipart(running, s3h)
    assert first.parts == [1]
    assert len(s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]) == 1
    async with running(total_file_size="10M", upload_chunk_size="5M") as out:
        assert out._uploader is not None
        counting = PausingClient(out._uploader.client, allow=10**6)
        out._uploader.client = counting
    assert counting.parts == [2, 3]  # part 1 was not sent again
    assert numbers(s3h) == list(range(11 * 1024))
    assert len(s3h.objects()) == 2
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


async def test_restart_redoes_a_multipart_upload_s3_no_longer_knows(running, s3h, s3) -> None:
    await _crash_mid_multipart(running, s3h)
    (upload,) = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    async with running(total_file_size="10M", upload_chunk_size="5M"):
        pass
    assert numbers(s3h) == list(range(11 * 1024))
    assert upload["Key"] in s3h.objects()
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
