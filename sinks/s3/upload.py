"""One sealed buffer to one S3 object: PutObject, or a resumable multipart upload.

Before every step the plan is saved in the journal (method, body digest, upload id, finished
parts), so a restart continues where the previous process stopped: a recorded multipart upload
is checked with ListParts and completed, or, if S3 no longer knows it (completed or aborted),
redone to the same deterministic key, which overwrites rather than duplicates.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
from typing import Any

from logtide.sinks.aws.retry import error_code
from logtide.sinks.s3.body import Body, build_body
from logtide.sinks.s3.options import S3Settings
from logtide.sinks.s3.store import Buffer, Store, UploadState

MAX_PARTS = 10_000


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _body_md5(body: Body) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with body.open() as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


class Uploader:
    def __init__(self, client: Any, config: S3Settings, store: Store, logger: logging.Logger):
        self.client = client
        self.config = config
        self.store = store
        self.log = logger
        self.object_args = self._object_args()
        self._list_uploads = True

    def _object_args(self) -> dict[str, str]:
        cfg = self.config
        args: dict[str, str] = {}
        if cfg.content_type:
            args["ContentType"] = cfg.content_type
        if cfg.format == "json_lines" and cfg.codec in ("gzip", "zstd"):
            args["ContentEncoding"] = cfg.codec
        if cfg.canned_acl:
            args["ACL"] = cfg.canned_acl
        if cfg.storage_class:
            args["StorageClass"] = cfg.storage_class
        if cfg.server_side_encryption:
            args["ServerSideEncryption"] = cfg.server_side_encryption
        if cfg.ssekms_key_id:
            args["SSEKMSKeyId"] = cfg.ssekms_key_id
        return args

    def _plan(self, body: Body) -> UploadState:
        cfg = self.config
        if cfg.use_put_object or body.size <= cfg.upload_chunk_size:
            return UploadState("put", body.sha256, body.size, body.size)
        part_size = max(cfg.upload_chunk_size, math.ceil(body.size / MAX_PARTS))
        return UploadState("multipart", body.sha256, body.size, part_size)

    async def _save(self, buffer: Buffer) -> None:
        await asyncio.to_thread(self.store.set_upload, buffer, buffer.upload)

    async def upload(self, buffer: Buffer) -> None:
        """Upload ``buffer`` to its key; raises the client's exception on failure."""
        body = await asyncio.to_thread(
            build_body,
            self.store.data_path(buffer),
            self.store.body_path(buffer),
            self.config.format,
            self.config.codec,
        )
        state = buffer.upload
        if state is not None and state.body_sha256 != body.sha256:
            # The body came out different (a new library version): start the object over.
            await self._abort(buffer.key, state.upload_id)
            state = None
        if state is None:
            state = self._plan(body)
            await asyncio.to_thread(self.store.set_upload, buffer, state)
        if state.method == "put":
            await self._put(buffer, body)
        else:
            await self._multipart(buffer, body, state)
        self.log.debug(
            "s3: uploaded %s (%d bytes, %s)",
            buffer.key,
            body.size,
            "PutObject" if state.method == "put" else f"{len(state.parts)} parts",
        )

    async def _put(self, buffer: Buffer, body: Body) -> None:
        args = dict(self.object_args)
        if self.config.send_content_md5:
            args["ContentMD5"] = await asyncio.to_thread(_body_md5, body)
        # Streamed from the file: the whole object as one bytes was the peak RSS of a run.
        with body.open() as data:
            await self.client.put_object(
                Bucket=self.config.bucket, Key=buffer.key, Body=data, **args
            )

    async def _abort(self, key: str, upload_id: str | None) -> None:
        if not upload_id:
            return
        try:
            await self.client.abort_multipart_upload(
                Bucket=self.config.bucket, Key=key, UploadId=upload_id
            )
        except Exception as exc:
            if error_code(exc) != "NoSuchUpload":
                raise

    async def _abort_strays(self, key: str) -> None:
        """Abort uploads to our key that the journal never recorded (crash after Create).

        Housekeeping, not delivery: such an upload is never completed, it only costs storage.
        Without ``s3:ListBucketMultipartUploads`` on the bucket the check is dropped (logged
        once) rather than holding every multipart upload back.
        """
        if not self._list_uploads:
            return
        try:
            response = await self.client.list_multipart_uploads(
                Bucket=self.config.bucket, Prefix=key
            )
        except Exception as exc:
            if error_code(exc) != "AccessDenied":
                raise
            self._list_uploads = False
            self.log.warning(
                "s3: not allowed to list multipart uploads in bucket %s; uploads a crash left "
                "unrecorded are not aborted (grant s3:ListBucketMultipartUploads on the bucket, "
                "or add an AbortIncompleteMultipartUpload lifecycle rule)",
                self.config.bucket,
            )
            return
        for upload in response.get("Uploads") or []:
            if upload.get("Key") == key:
                await self._abort(key, upload.get("UploadId"))

    async def _known_parts(self, key: str, state: UploadState) -> dict[int, str] | None:
        """The parts S3 holds for the recorded upload, or None if S3 no longer knows it."""
        assert state.upload_id is not None
        parts: dict[int, str] = {}
        marker = 0
        while True:
            try:
                response = await self.client.list_parts(
                    Bucket=self.config.bucket,
                    Key=key,
                    UploadId=state.upload_id,
                    PartNumberMarker=marker,
                )
            except Exception as exc:
                if error_code(exc) in ("NoSuchUpload", "404"):
                    return None
                raise
            for part in response.get("Parts") or []:
                parts[int(part["PartNumber"])] = part["ETag"]
            if not response.get("IsTruncated"):
                return parts
            marker = int(response.get("NextPartNumberMarker") or 0)

    async def _multipart(self, buffer: Buffer, body: Body, state: UploadState) -> None:
        bucket, key = self.config.bucket, buffer.key
        if state.upload_id is not None:
            remote = await self._known_parts(key, state)
            if remote is None:
                self.log.info("s3: multipart upload for %s is gone on S3; uploading again", key)
                state.upload_id, state.parts = None, {}
            else:
                state.parts = {n: tag for n, tag in state.parts.items() if remote.get(n) == tag}
            await self._save(buffer)
        if state.upload_id is None:
            await self._abort_strays(key)
            response = await self.client.create_multipart_upload(
                Bucket=bucket, Key=key, **self.object_args
            )
            state.upload_id = response["UploadId"]
            state.parts = {}
            await self._save(buffer)
        count = math.ceil(body.size / state.part_size)
        for number in range(1, count + 1):
            if number in state.parts:
                continue
            data = await asyncio.to_thread(
                body.read, (number - 1) * state.part_size, state.part_size
            )
            args: dict[str, Any] = {}
            if self.config.send_content_md5:
                args["ContentMD5"] = _md5(data)
            response = await self.client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=state.upload_id,
                PartNumber=number,
                Body=data,
                **args,
            )
            state.parts[number] = response["ETag"]
            await self._save(buffer)
        await self.client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=state.upload_id,
            MultipartUpload={
                "Parts": [{"ETag": state.parts[n], "PartNumber": n} for n in sorted(state.parts)]
            },
        )
