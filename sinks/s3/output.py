"""The ``s3`` output: fsync into store_dir on flush, upload in the background.

``flush`` returns once the records are appended and fsynced to their buffer file, which is
what settles the chunk's acknowledgement. A background task (started with ``context.spawn``)
seals buffers whose ``upload_timeout`` passed and uploads sealed buffers in creation order,
retrying transient failures with jittered backoff up to ``Retry_Limit``. ``stop`` seals and
uploads everything; under ``--once`` anything it could not upload is a delivery error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from logtide.agent.core.errors import PermanentDeliveryError, RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.file_lock import when_free
from logtide.agent.core.options import Settings
from logtide.agent.core.plugins import OutputPlugin, PluginContext
from logtide.agent.core.reclaim import release_failure
from logtide.agent.core.retry import Backoff, Retry
from logtide.agent.core.timestamps import MAX_TIME, MIN_TIME, clamp_time
from logtide.sinks.aws.client import AwsClients
from logtide.sinks.aws.retry import describe
from logtide.sinks.s3.options import S3_OPTIONS, S3Settings
from logtide.sinks.s3.serialize import LineWriter
from logtide.sinks.s3.store import Buffer, Store
from logtide.sinks.s3.upload import Uploader

# Without a Retry_Limit, a final upload (on stop) still gives up at some point.
FINAL_ATTEMPTS_WHEN_UNLIMITED = 6
# At most one "store_dir_limit_size reached" warning per this many seconds.
LIMIT_WARNING_INTERVAL = 60.0

Stream = tuple[str, tuple[str, ...]]


def store_root(config: S3Settings) -> Path:
    name = config.bucket + (f"-{config.alias}" if config.alias else "")
    return Path(config.store_dir) / name


class S3Output(OutputPlugin[S3Settings]):
    name: ClassVar[str] = "s3"
    description: ClassVar[str] = "Buffer records in store_dir and upload them as S3 objects."
    options = S3_OPTIONS

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.writer = LineWriter(
            self.config.date_key, self.config.json_date_format, self.config.log_key
        )
        self.store = Store(
            store_root(self.config),
            self.config.key_format,
            static_file_path=self.config.static_file_path,
        )
        # Uploads retry on a shorter scale than the engine: records are safe in store_dir.
        self.backoff = Backoff(base=1.0, cap=60.0)
        self.tick = 1.0
        # How long a flush waits for uploads to free store_dir before reporting backpressure.
        self.space_wait = 10.0
        self._limit_warned = -LIMIT_WARNING_INTERVAL
        self._clients: AwsClients | None = None
        self._opening: asyncio.Future[list[Buffer]] | None = None
        self._uploader: Uploader | None = None
        self._lock = asyncio.Lock()
        self._pass_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._stopping = False
        self.failures: dict[str, str] = {}

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        leftovers = await when_free(
            self._open_store, self.context.logger, f"s3: opening store_dir {self.store.root}"
        )
        if leftovers:
            self.context.logger.info(
                "s3: %d buffer(s) left in %s from a previous run; uploading them",
                len(leftovers),
                self.store.root,
            )
        self._clients = AwsClients(self.config)
        client = await self._clients.client("s3", s3={"addressing_style": "path"})
        self._uploader = Uploader(client, self.config, self.store, self.context.logger)
        self.context.spawn(self._run(), f"{self.context.instance}.s3-upload")
        if leftovers:
            self._wake.set()

    async def _open_store(self) -> list[Buffer]:
        # Shielded: when a stop interrupts the start, the open in the thread still ends, and
        # stop() waits for it before it closes what the open took.
        self._opening = asyncio.get_running_loop().run_in_executor(None, self.store.open)
        return await asyncio.shield(self._opening)

    async def stop(self) -> None:
        if self._opening is not None:
            await asyncio.wait([self._opening])
        self._stopping = True
        self._wake.set()
        try:
            async with self._lock:
                for buffer in self.store.open_buffers():
                    self.store.seal(buffer)
            if self._uploader is not None:
                async with self._pass_lock:
                    await self._upload_pass(final=True)
            left = self.store.sealed_buffers()
            if left:
                reasons = sorted({self.failures.get(b.id, "not uploaded") for b in left})
                message = (
                    f"s3: {len(left)} buffer(s) not uploaded to bucket {self.config.bucket} "
                    f"({'; '.join(reasons)}); kept in {self.store.root} for the next start"
                )
                if self.context.once:
                    raise PermanentDeliveryError(message)
                self.context.logger.error(message)
        finally:
            if self._clients is not None:
                await self._clients.close()
            await asyncio.to_thread(self.store.close)

    def _gauge(self) -> None:
        metrics, instance = self.context.metrics, self.context.instance
        metrics.set(instance, "s3_store_bytes", self.store.total_bytes)
        metrics.set(instance, "s3_buffers_sealed", len(self.store.sealed_buffers()))

    # ---- flush: into store_dir -------------------------------------------------------------

    def watermarks(self) -> dict[str, int]:
        return dict(self.store.log.watermarks)

    async def flush(self, tag: str, events: list[Event]) -> None:
        await self.flush_marked(tag, events, ())

    async def flush_marked(
        self, tag: str, events: list[Event], marks: Sequence[tuple[str, int]]
    ) -> None:
        streams: dict[Stream, list[tuple[float, bytes]]] = {}
        key_format = self.config.key_format
        line = self.writer.line
        clamped = 0
        for ts, record in events:
            if not MIN_TIME <= ts <= MAX_TIME:
                # A time no date can hold would fail the key and the date key, and with them
                # the whole batch, again on every retry: render this record clamped instead.
                ts = clamp_time(ts)
                clamped += 1
            data = line(ts, record)
            if data is None:
                continue
            group = key_format.group(record) if key_format.has_fields else ()
            streams.setdefault((tag, group), []).append((ts, data))
        if self.writer.missing_log_key:
            self.context.logger.error(
                "s3: %d record(s) without log_key '%s' skipped",
                self.writer.missing_log_key,
                self.config.log_key,
            )
            self.context.metrics.add(
                self.context.instance, "s3_missing_log_key", self.writer.missing_log_key
            )
            self.writer.missing_log_key = 0
        if clamped:
            self.context.logger.warning(
                "s3: %d record(s) with a time outside years 1..9999 written with it clamped",
                clamped,
            )
            self.context.metrics.add(self.context.instance, "time_clamped", clamped)
        if not streams and not marks:
            return
        incoming = sum(len(data) for lines in streams.values() for _, data in lines)
        await self._wait_for_space(incoming)
        async with self._lock:
            try:
                full = await asyncio.to_thread(self._write, streams, marks)
            except OSError as exc:
                raise RetryableDeliveryError(
                    f"s3: cannot write to store_dir {self.store.root}: {exc.strerror or exc}"
                ) from None
        self._gauge()
        if full:
            self._wake.set()

    def _write(
        self, streams: dict[Stream, list[tuple[float, bytes]]], marks: Sequence[tuple[str, int]]
    ) -> list[Buffer]:
        writes, full = self._place(streams)
        try:
            self.store.append(writes, marks)
        finally:
            # _place detached them; a failed append (rolled back) must not leave a detached
            # buffer unsealed, or its earlier records would wait for the next start.
            for buffer in full:
                if buffer.size:
                    self.store.seal(buffer)
        return full

    def _place(
        self, streams: dict[Stream, list[tuple[float, bytes]]]
    ) -> tuple[list[tuple[Buffer, bytes]], list[Buffer]]:
        """Assign lines to buffers, starting a new one whenever total_file_size is reached."""
        limit = self.config.total_file_size
        writes: list[tuple[Buffer, bytes]] = []
        full: list[Buffer] = []
        for (tag, group), lines in streams.items():
            buffer = self.store.open_buffer(tag, group)
            planned = buffer.size if buffer is not None else 0
            batch: list[bytes] = []
            for ts, data in lines:
                if buffer is None:
                    buffer = self.store.new_buffer(tag, group, ts)
                    planned = 0
                batch.append(data)
                planned += len(data)
                if planned >= limit:
                    writes.append((buffer, b"".join(batch)))
                    full.append(buffer)
                    self.store.detach(buffer)
                    buffer, batch = None, []
            if batch and buffer is not None:
                writes.append((buffer, b"".join(batch)))
        return writes, full

    async def _wait_for_space(self, incoming: int) -> None:
        """store_dir_limit_size: wait for uploads to free space; never drop."""
        limit = self.config.store_dir_limit_size
        if not limit or self.store.total_bytes == 0:
            return
        if self.store.total_bytes + incoming <= limit:
            return
        self.context.metrics.add(self.context.instance, "s3_store_limit_waits")
        now = time.monotonic()
        if now - self._limit_warned >= LIMIT_WARNING_INTERVAL:
            self._limit_warned = now
            self.context.logger.warning(
                "s3: store_dir_limit_size (%d bytes) reached in %s (%d bytes buffered); "
                "new records wait for uploads (backpressure, nothing is dropped)",
                limit,
                self.store.root,
                self.store.total_bytes,
            )
        deadline = now + self.space_wait
        while self.store.total_bytes and self.store.total_bytes + incoming > limit:
            async with self._lock:
                for buffer in self.store.open_buffers():
                    self.store.seal(buffer)
            self._wake.set()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RetryableDeliveryError(
                    f"s3: store_dir_limit_size ({limit} bytes) reached in {self.store.root}; "
                    "waiting for uploads"
                )
            self._space.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._space.wait(), min(remaining, self.tick))

    # ---- uploads ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
            if self._stopping:
                return
            try:
                async with self._pass_lock:
                    await self._upload_pass(final=False)
            except Exception as exc:
                # A local failure (disk full while journaling) must not end the uploads for
                # good: buffers stay on disk and the next pass tries again.
                self.context.logger.error("s3: upload pass failed: %s", describe(exc))

    async def _upload_pass(self, *, final: bool) -> None:
        now = time.time()
        async with self._lock:
            for buffer in self.store.open_buffers():
                if now - buffer.created >= self.config.upload_timeout:
                    self.store.seal(buffer)
        held: set[Stream] = set()
        for buffer in sorted(self.store.sealed_buffers(), key=lambda b: b.created):
            if self._stopping and not final:
                return
            if buffer.stream in held and self.config.preserve_data_ordering:
                continue
            if not final and buffer.retry_after > now:
                held.add(buffer.stream)
                continue
            if not await self._upload_with_retries(buffer, final=final):
                held.add(buffer.stream)
                buffer.retry_after = time.time() + self.config.upload_timeout

    async def _upload_with_retries(self, buffer: Buffer, *, final: bool) -> bool:
        metrics, instance = self.context.metrics, self.context.instance
        metrics.set(instance, "s3_uploads_in_flight", 1)
        try:
            return await self._upload_attempts(buffer, final=final)
        finally:
            metrics.set(instance, "s3_uploads_in_flight", 0)

    async def _upload_attempts(self, buffer: Buffer, *, final: bool) -> bool:
        assert self._uploader is not None
        limit = self.config.retries
        if limit is None and final:
            limit = FINAL_ATTEMPTS_WHEN_UNLIMITED
        metrics, instance = self.context.metrics, self.context.instance

        def retrying(exc: Exception, failures: int, delay: float) -> None:
            reason = self.failures[buffer.id] = describe(exc)
            metrics.add(instance, "s3_upload_retries")
            self.context.logger.warning(
                "s3: upload of %s failed (%s); retry %d in %.1fs",
                buffer.key,
                reason,
                failures + 1,
                delay,
            )

        def giving_up(exc: Exception, failures: int, transient: bool) -> None:
            if transient:
                self.context.logger.error(
                    "s3: upload of s3://%s/%s failed after %d attempt(s): %s (kept in %s)",
                    self.config.bucket,
                    buffer.key,
                    failures + 1,
                    describe(exc),
                    self.store.root,
                )
            else:
                self.context.logger.error(
                    "s3: upload of s3://%s/%s failed: %s (kept in %s)",
                    self.config.bucket,
                    buffer.key,
                    describe(exc),
                    self.store.root,
                )
            metrics.add(instance, "s3_upload_errors")

        # Retry n (from 0) waits as step n+1 of the backoff: S3's first retry already
        # waits 1-2 s rather than about 1 s.
        retry = Retry(lambda failures: self.backoff.delay(failures + 1), limit)
        try:
            await retry.run(
                functools.partial(self._uploader.upload, buffer),
                on_retry=retrying,
                on_give_up=giving_up,
                keep_going=lambda: final or not self._stopping,
            )
        except Exception as exc:
            # Given up, or stopping: the buffer stays in store_dir for the next start.
            self.failures[buffer.id] = describe(exc)
            # The failed request holds the object's body in reference cycles.
            release_failure(exc)
            return False
        await asyncio.to_thread(self.store.remove, buffer)
        self._gauge()
        self.failures.pop(buffer.id, None)
        self._space.set()
        metrics.add(instance, "s3_objects_uploaded")
        self.context.logger.info(
            "s3: uploaded s3://%s/%s (%d bytes buffered)",
            self.config.bucket,
            buffer.key,
            buffer.size,
        )
        return True
