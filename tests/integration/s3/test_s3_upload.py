"""The s3 output over real HTTP to moto: bodies, keys, compression, multipart, SSE."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import cramjam

BUCKET = "logs"  # created by the conftest's s3 fixture
T0 = 1795744014.715089  # 2026-11-27T01:46:54.715089Z


def sales(count: int, start: float = T0, state: str = "CA", pad: int = 0) -> list[Any]:
    return [
        (
            start + i * 0.001,
            {
                "item_id": str(i),
                "state": state,
                "price": "80",
                "note": "x" * pad,
                "stream": "stdout",
            },
        )
        for i in range(count)
    ]


async def test_put_object_key_and_body_as_fluent_bit(running, s3h) -> None:
    async with running() as out:
        await out.flush("states.ca", sales(3))
        gauge = ("s3.0", "s3_store_bytes", ())
        assert out.context.metrics.gauges()[gauge] == out.store.total_bytes > 0
    gauges = out.context.metrics.gauges()
    assert gauges[gauge] == 0
    assert gauges[("s3.0", "s3_buffers_sealed", ())] == 0
    assert gauges[("s3.0", "s3_uploads_in_flight", ())] == 0
    assert out.context.metrics.get("s3.0", "s3_objects_uploaded") == 1
    found = s3h.objects()
    assert len(found) == 1
    key, body = next(iter(found.items()))
    assert re.fullmatch(r"fluent-bit-logs/states\.ca/2026/11/27/01/46/54-object[A-Za-z0-9]{8}", key)
    assert body.splitlines()[0] == (
        b'{"date":"2026-11-27T01:46:54.715089Z","item_id":"0","state":"CA","price":"80",'
        b'"note":"","stream":"stdout"}'
    )
    assert [r["item_id"] for r in s3h.lines(body)] == ["0", "1", "2"]
    assert list(out.store.root.glob("*.jsonl")) == []


async def test_gzip_object_decompresses_to_the_records(running, s3h, s3) -> None:
    async with running(compression="gzip") as out:
        await out.flush("states.ca", sales(50))
    ((key, body),) = s3h.objects().items()
    assert body[:2] == b"\x1f\x8b"
    assert [r["item_id"] for r in s3h.lines(body)] == [str(i) for i in range(50)]
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentEncoding"] == "gzip"


async def test_zstd_object_decompresses_to_the_records(running, s3h, s3) -> None:
    async with running(compression="zstd") as out:
        await out.flush("states.ca", sales(50))
    ((key, body),) = s3h.objects().items()
    plain = bytes(cramjam.zstd.decompress(body))
    # The frame header names the content size (FCS flag or single segment in its descriptor
    # byte), which one-shot decoders such as zstandard's decompress() require.
    assert body[:4] == b"\x28\xb5\x2f\xfd" and body[4] & 0xE0
    assert [r["item_id"] for r in s3h.lines(plain)] == [str(i) for i in range(50)]
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentEncoding"] == "zstd"


async def test_multipart_upload_at_total_file_size(running, s3h, s3) -> None:
    # ~11 MiB of records: the buffer seals at total_file_size and goes up in 5 MiB parts.
    records = sales(11 * 1024, pad=1000)
    async with running(total_file_size="10M", upload_chunk_size="5M") as out:
        for start in range(0, len(records), 1000):
            await out.flush("states.ca", records[start : start + 1000])
    found = s3h.objects()
    assert len(found) == 2
    seen: list[str] = []
    etags = []
    for key in sorted(found, key=lambda k: s3h.lines(found[k])[0]["item_id"].zfill(6)):
        seen.extend(r["item_id"] for r in s3h.lines(found[key]))
        etags.append(s3.head_object(Bucket=BUCKET, Key=key)["ETag"])
    assert seen == [str(i) for i in range(len(records))]
    # The first object sealed just past 10 MiB: two 5 MiB parts and a short last one.
    assert etags[0].strip('"').endswith("-3")
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


async def test_hive_partitions_from_record_fields(running, s3h) -> None:
    key_format = "/logs/$TAG[1]/dt=%Y-%m-%d/hour=%H/state=${state}/zone=${geo['zone']}/$UUID.json"
    events = [
        (T0, {"state": "CA", "geo": {"zone": "west"}, "n": 1}),
        (T0 + 1, {"state": "NY", "geo": {"zone": "east"}, "n": 2}),
        (T0 + 2, {"state": "CA", "geo": {"zone": "west"}, "n": 3}),
        (T0 + 3, {"geo": {}, "n": 4}),
    ]
    async with running(s3_key_format=key_format) as out:
        await out.flush("states.ca", events)
    found = s3h.objects()
    by_prefix = {
        key.rsplit("/", 1)[0]: [r["n"] for r in s3h.lines(body)] for key, body in found.items()
    }
    assert by_prefix == {
        "logs/ca/dt=2026-11-27/hour=01/state=CA/zone=west": [1, 3],
        "logs/ca/dt=2026-11-27/hour=01/state=NY/zone=east": [2],
        "logs/ca/dt=2026-11-27/hour=01/state=__HIVE_DEFAULT_PARTITION__"
        "/zone=__HIVE_DEFAULT_PARTITION__": [4],
    }
    assert all(re.search(r"/[A-Za-z0-9]{8}\.json$", key) for key in found)


async def test_key_injection_from_tag_and_fields_is_neutralised(running, s3h) -> None:
    events = [
        (T0, {"state": "../../etc", "n": 1}),
        (T0, {"state": "a/b", "n": 2}),
        (T0, {"state": "..", "n": 3}),
        (T0, {"state": "%Y", "n": 4}),
    ]
    async with running(s3_key_format="/safe/$TAG/${state}/x") as out:
        await out.flush("../evil/tag", events)
    keys = sorted(s3h.objects())
    for key in keys:
        assert key.startswith("safe/")
        segments = key.split("/")
        assert len(segments) == 4, key
        assert ".." not in key and "//" not in key
    assert {key.split("/")[2] for key in keys} == {
        "%2E%2E%2F%2E%2E%2Fetc",
        "a%2Fb",
        "%2E%2E",
        "%25Y",
    }
    assert {key.split("/")[1] for key in keys} == {"%2E%2E%2Fevil%2Ftag"}


async def test_sse_and_object_headers_are_sent(running, s3) -> None:
    async with running(
        server_side_encryption="aws:kms",
        ssekms_key_id="alias/logs",
        content_type="application/json",
        storage_class="STANDARD_IA",
        send_content_md5="On",
    ) as out:
        await out.flush("states.ca", sales(5))
    (item,) = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    head = s3.head_object(Bucket=BUCKET, Key=item["Key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/logs")
    assert head["ContentType"] == "application/json"
    assert head["StorageClass"] == "STANDARD_IA"


async def test_sse_aes256_on_multipart(running, s3) -> None:
    async with running(
        server_side_encryption="AES256", total_file_size="10M", upload_chunk_size="5M"
    ) as out:
        await out.flush("states.ca", sales(7 * 1024, pad=1000))
    (item,) = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    head = s3.head_object(Bucket=BUCKET, Key=item["Key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ETag"].strip('"').endswith("-2")


async def test_upload_timeout_uploads_in_the_background(running, s3h) -> None:
    async with running(upload_timeout="0.2") as out:
        await out.flush("states.ca", sales(4))
        for _ in range(200):  # no stop(): only the background task can upload it
            if not out.store.buffers:
                break
            await asyncio.sleep(0.05)
        assert [r["item_id"] for b in s3h.objects().values() for r in s3h.lines(b)] == [
            "0",
            "1",
            "2",
            "3",
        ]
        assert out.store.buffers == {}
        await out.flush("states.ca", sales(1, start=T0 + 5))  # a new buffer, a new object
    assert len(s3h.objects()) == 2
