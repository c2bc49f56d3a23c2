"""The ``tail`` input: follow files, emit chunks, checkpoint only what was delivered.

Loop (live mode): check every open file (rotation, truncation, deletion), read what is new in
big blocks, flush timed-out Docker_Mode/multiline records, rescan the globs when due or when
the watcher saw entries appear, then sleep until inotify or the poll tick wakes us.

Delivery: each chunk carries an :class:`Ack` for its byte range ``[start, end)`` of one file;
the file's :class:`RangeTracker` moves the checkpoint over the contiguous acknowledged prefix
and the DB is written in batches from a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from agent.core.errors import ConfigError, PluginError
from agent.core.events import Ack, Chunk, Event, Origin
from agent.core.options import Option, Settings
from agent.core.plugins import Emit, InputPlugin, PluginContext
from agent.inputs.tail.changes import FileChanges
from agent.inputs.tail.checkpoint import CheckpointStore
from agent.inputs.tail.checkpointing import Checkpointing
from agent.inputs.tail.decoders import Decoder, DockerModeDecoder, MultilineDecoder
from agent.inputs.tail.discovery import Discovery
from agent.inputs.tail.options import OPTIONS, validate
from agent.inputs.tail.reader import READ_BLOCK, LineRules, TailedFile
from agent.inputs.tail.tagging import TagComposer
from agent.inputs.tail.watcher import Watcher, watch_roots
from agent.parsers.multiline.registry import MultilineRegistry

POLL_INTERVAL = 0.25
SAFETY_PASS = 5.0
NOTIFY_GATHER = 0.05
CHUNK_BYTES = 512 * 1024
CHUNK_EVENTS = 4096
FILE_BUDGET = 8 * 1024 * 1024


class TailInput(FileChanges, Checkpointing, Discovery, InputPlugin):
    """Fluent Bit's ``tail``: read log files as they grow, across rotations and restarts."""

    name: ClassVar[str] = "tail"
    description: ClassVar[str] = "Follow log files (docker, CRI, plain) with a checkpoint DB."
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    @classmethod
    def validate(cls, settings: Settings) -> None:
        validate(settings)

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        s = settings
        self.source = s["alias"] or context.instance
        self.tagger = TagComposer(s["tag"] or context.instance, s["tag_regex"])
        self.rules = LineRules(
            max_line=s["buffer_max_size"],
            skip_long=s["skip_long_lines"],
            truncate_long=s["truncate_long_lines"],
            skip_empty=s["skip_empty_lines"],
        )
        self.store = CheckpointStore(
            s["db"],
            sync=s["db.sync"],
            locking=s["db.locking"],
            journal_mode=s["db.journal_mode"],
            compare_filename=s["db.compare_filename"],
        )
        # --once and Exit_On_Eof read every file to its end, then return
        self.ends_run = bool(s["exit_on_eof"])
        self.to_end = context.once or self.ends_run
        # A run that ends is a batch over files already there: a file with no checkpoint is
        # read from its start unless the config explicitly says Read_from_Head Off.
        self.from_head: bool = s["read_from_head"] or (
            self.to_end and not s.is_set("read_from_head")
        )
        self.files: dict[tuple[int, int], TailedFile] = {}
        self.closing: list[TailedFile] = []
        self.outstanding = 0
        self.mem_limit: int = s["mem_buf_limit"] or 0
        self.resumed = False
        # --once/Exit_On_Eof: files that matched but could not be opened (path -> reason)
        self.unreadable: dict[str, str] = {}
        self._resume = asyncio.Event()
        # Files that stopped reading at Mem_Buf_Limit: read again once acks free memory.
        self._starved: set[TailedFile] = set()
        self._moved = asyncio.Event()
        self._durable_lineages: set[str] = set()
        self._checkpoints_logged: dict[str, float] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._watcher: Watcher | None = None
        self._parse: Any = None
        self._loads: Any = None
        self._first_line: Any = None
        self._multiline: MultilineRegistry | None = None
        context.metrics.probe(context.instance, self._lag)

    # -- setup ---------------------------------------------------------------------------
    def _resolve_parsers(self) -> None:
        s, parsers = self.settings, self.context.parsers
        for key in ("parser", "docker_mode_parser"):
            name = s[key]
            if name and parsers is None:
                raise ConfigError(
                    f"tail: {key} '{name}' given but no parsers are loaded", self.location
                )
        if s["parser"] and parsers is not None:
            parser = parsers.get(s["parser"], self.location)
            self._parse, self._loads = parser.parse, parser.loads
        if s["docker_mode_parser"] and parsers is not None:
            self._first_line = parsers.get(s["docker_mode_parser"], self.location).parse
        if s["multiline.parser"]:
            self._multiline = self.context.multiline_parsers or MultilineRegistry()
            self._multiline.stream(s["multiline.parser"], parsers, self.location)

    def _decoder(self, path: str) -> Decoder:
        s = self.settings
        args = (s["key"], s["path_key"], s["offset_key"], path)
        if self._multiline is not None:
            stream = self._multiline.stream(
                s["multiline.parser"], self.context.parsers, self.location
            )
            return MultilineDecoder(stream, *args)
        if s["docker_mode"]:
            return DockerModeDecoder(
                self._parse, *args, s["docker_mode_flush"], self._first_line, self._loads
            )
        return Decoder(self._parse, *args)

    async def _db(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    # -- run -----------------------------------------------------------------------------
    async def run(self, emit: Emit) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._resolve_parsers()
        if self.store.path:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{self.source}-db")
        self.resumed = bool(self.store.path) and os.path.exists(str(self.store.path))
        try:
            await self._db(self.store.open)
        except PluginError:
            raise
        if self.to_end and not self.from_head:
            self.context.logger.warning(
                "tail: note: Read_from_Head Off: a file with no checkpoint is read from its "
                "end, so nothing already in it is read (remove the line to read it all)"
            )
        known = list(self.store.rows.values())
        paths = self._scan(initial=True)
        matched = set(paths)
        for path in paths:
            self._adopt_unseen(path, self._family_since(path, known), matched)
        self._recover_rotated()
        await self._persist()
        if self.to_end:
            for f in list(self.files.values()):
                await self._pump(f, emit, budget=None)
                await self._emit(f, f.finish(time.time()), emit)
                self._close(f)
            if self.unreadable:
                listed = ", ".join(
                    f"{path} ({why})" for path, why in sorted(self.unreadable.items())
                )
                raise PluginError(f"cannot read {len(self.unreadable)} file(s): {listed}")
            return
        if self.settings["inotify_watcher"]:
            self._watcher = Watcher(self._loop, self.context.logger)
            self._watcher.start()
            for root in watch_roots(self.settings["path"]):
                self._watcher.watch(root)
            for f in self.files.values():
                self._watcher.watch(os.path.dirname(os.path.realpath(f.path)))
        self.context.spawn(self._persist_loop(), f"{self.source}.checkpoint")
        await self._follow(emit)

    async def _follow(self, emit: Emit) -> None:
        """Visit the files that can have something to do, not all of them every time.

        Each wake-up visits the files notifications named and those whose read budget ran
        out; every poll tick adds the ones that need a clock (rotated files waiting out
        Rotate_Wait, decoders holding a partial record, directories inotify does not cover);
        a full pass over every file runs each poll tick without inotify, and as a safety net
        every SAFETY_PASS seconds with it.
        """
        refresh = self.settings["refresh_interval"]
        next_scan = time.monotonic() + refresh
        watcher = self._watcher
        full_every = POLL_INTERVAL if watcher is None else SAFETY_PASS
        next_full = next_tick = 0.0
        by_real: dict[str, TailedFile] = {}
        busy: set[TailedFile] = set()
        # Files visited on every poll tick: rotated ones waiting out Rotate_Wait, decoders
        # holding a partial record (flush timeouts), files in directories inotify misses.
        clocked: set[TailedFile] = set()
        polled: set[TailedFile] = set()
        while True:
            now = started = time.monotonic()
            changed = watcher.take_changed() if watcher is not None else set()
            targets = busy | self._starved
            self._starved = set()
            full = now >= next_full
            if full:
                next_full, next_tick = now + full_every, now + POLL_INTERVAL
                by_real = {f.real: f for f in self.files.values()}
                targets.update(self.files.values())
                polled = set()
                if watcher is not None:
                    polled = {
                        f
                        for f in self.files.values()
                        if not watcher.covers(os.path.dirname(f.real))
                    }
            else:
                targets.update(by_real[path] for path in changed if path in by_real)
                if now >= next_tick:
                    next_tick = now + POLL_INTERVAL
                    targets |= clocked
            busy = set()
            for f in targets:
                if not f.closed:
                    # A rename or deletion is notified and brings a full pass: a file that
                    # was only written to need not have its path looked up.
                    readable = await self._check(f, emit, renames=full or f in clocked)
                    if not f.closed and readable and await self._pump(f, emit, FILE_BUDGET):
                        busy.add(f)
                    if not f.closed and f.decoder.held_from() is not None:
                        await self._emit(f, f.decoder.flush_expired(time.time()), emit)
                if f.closed:
                    clocked.discard(f)
                elif f.rotated_at is not None or f.decoder.held_from() is not None or f in polled:
                    clocked.add(f)
                else:
                    clocked.discard(f)
            now = time.monotonic()
            if now >= next_scan or (watcher is not None and watcher.rescan):
                if watcher is not None:
                    watcher.rescan = False
                next_scan = now + refresh
                self._scan(initial=False)
                await self._persist()
                next_full = 0.0
                continue
            if busy:
                await asyncio.sleep(0)
                continue
            await self._sleep(watcher, min(next_tick, next_full) - now, started)

    async def _sleep(self, watcher: Watcher | None, timeout: float, started: float) -> None:
        waiters = [asyncio.ensure_future(self._resume.wait())]
        if watcher is not None:
            waiters.append(asyncio.ensure_future(watcher.changed.wait()))
        try:
            await asyncio.wait(
                waiters, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if watcher is not None and watcher.changed.is_set() and not self._resume.is_set():
            # Busy files notify once per write: gathering for a moment lets one pass serve
            # many of them instead of one pass per write.
            delay = started + NOTIFY_GATHER - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if watcher is not None:
            watcher.changed.clear()
        self._resume.clear()

    # -- reading and emitting ------------------------------------------------------------
    async def _pump(self, f: TailedFile, emit: Emit, budget: int | None) -> bool:
        """Read ``f`` up to ``budget`` bytes (None: to its end); True if more is waiting."""
        events: list[Event] = []
        start_pos = f.pos
        more = False
        while True:
            while self.mem_limit and self.outstanding > self.mem_limit:
                if events:
                    await self._emit(f, events, emit)
                    events = []
                if not self.context.once and budget is not None:
                    self._starved.add(f)
                    return False
                self._resume.clear()
                await self._resume.wait()
            cut = self._next_cut(f)
            block = READ_BLOCK if cut is None else min(READ_BLOCK, cut - f.pos)
            if f.size > f.pos:
                # The size fstat just saw, plus one byte so a short read still marks the
                # end: a busy file's one-line write should not cost a 256 KiB buffer.
                block = min(block, f.size - f.pos + 1)
            batch = f.read_batch(time.time(), block)
            if batch is None:
                break
            events.extend(batch)
            at_cut = cut is not None and f.pos == cut
            if at_cut or len(events) >= CHUNK_EVENTS or f.safe - f.emitted_to >= CHUNK_BYTES:
                await self._emit(f, events, emit)
                events = []
            if f.eof:
                break
            if budget is not None and f.pos - start_pos >= budget:
                more = True
                break
        await self._emit(f, events, emit)
        return more

    async def _emit(self, f: TailedFile, events: list[Event], emit: Emit) -> None:
        self._collect_counters(f)
        start = f.emitted_to
        end = max(f.safe, start)
        tracker = f.tracker
        if not events:
            if end > start:
                span = tracker.add(start, end, f.fingerprint_at(end))
                f.emitted_to = end
                if tracker.settle(span, True):
                    self._commit(f)
            return
        span = tracker.add(start, end, f.fingerprint_at(end))
        f.emitted_to = end
        self.outstanding += end - start
        ack = Ack(lambda ok: self._acked(f, tracker, span, ok))
        origin = Origin(await self._durable_lineage(f, end), start, end)
        await emit(Chunk(f.tag, events, ack, self.source, end - start, origin))

    def _collect_counters(self, f: TailedFile) -> None:
        decoder = f.decoder
        if not (
            f.long_lines_skipped
            or f.long_lines_truncated
            or f.empty_lines_skipped
            or decoder.invalid_utf8
            or decoder.parse_failed
        ):
            return  # the usual case, once per chunk
        metrics, instance = self.context.metrics, self.context.instance
        for name, value in (
            ("long_lines_skipped", f.long_lines_skipped),
            ("long_lines_truncated", f.long_lines_truncated),
            ("empty_lines_skipped", f.empty_lines_skipped),
            ("invalid_utf8", decoder.invalid_utf8),
            ("parse_failed", decoder.parse_failed),
        ):
            if value:
                metrics.add(instance, name, value)
        f.long_lines_skipped = f.long_lines_truncated = f.empty_lines_skipped = 0
        decoder.invalid_utf8 = decoder.parse_failed = 0

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        try:
            await self._persist()
        finally:
            for f in list(self.files.values()):
                f.closed = True
                os.close(f.fd)
            self.files.clear()
            await self._db(self.store.close)
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
