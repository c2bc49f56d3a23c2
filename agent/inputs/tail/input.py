"""The ``tail`` input: follow files, emit chunks, checkpoint only what was delivered.

Loop (live mode): check every open file (rotation, truncation, deletion), read what is new in
big blocks, flush timed-out Docker_Mode/multiline records, rescan the globs when due or when
the watcher saw entries appear, then sleep until inotify or the poll tick wakes us.

The work is done by the objects :class:`TailInput` builds (see the package docstring): it
owns only the follow loop, which decides which files to visit and when.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import ClassVar

from logtide.agent.core.errors import PluginError
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import Emit, InputPlugin, PluginContext
from logtide.agent.inputs.tail.changes import FileChanges
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.checkpointer import Checkpointer
from logtide.agent.inputs.tail.decoder_factory import DecoderFactory
from logtide.agent.inputs.tail.discovery import Discovery, Selection
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.inflight import InFlight
from logtide.agent.inputs.tail.options import OPTIONS, TailSettings
from logtide.agent.inputs.tail.pump import Pump
from logtide.agent.inputs.tail.reader import LineRules, TailedFile
from logtide.agent.inputs.tail.tagging import TagComposer
from logtide.agent.inputs.tail.watcher import Watcher, watch_roots

POLL_INTERVAL = 0.25
SAFETY_PASS = 5.0
NOTIFY_GATHER = 0.05
FILE_BUDGET = 8 * 1024 * 1024


class TailInput(InputPlugin[TailSettings]):
    """Fluent Bit's ``tail``: read log files as they grow, across rotations and restarts."""

    name: ClassVar[str] = "tail"
    description: ClassVar[str] = "Follow log files (docker, CRI, plain) with a checkpoint DB."
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    @classmethod
    def checkpoint_db(cls, config: TailSettings) -> str | None:
        return config.db

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        c = self.config
        self.source: str = c.alias or context.instance
        # --once and Exit_On_Eof read every file to its end, then return
        self.ends_run = c.exit_on_eof
        self.to_end = context.once or self.ends_run
        # A run that ends is a batch over files already there: a file with no checkpoint is
        # read from its start unless the config explicitly says Read_from_Head Off.
        self.from_head: bool = c.read_from_head or (
            self.to_end and not settings.is_set("read_from_head")
        )
        self.table = FileTable()
        self.inflight = InFlight(c.mem_buf_limit)
        self.store = CheckpointStore(
            c.db,
            sync=c.db_sync,
            locking=c.db_locking,
            journal_mode=c.db_journal_mode,
            compare_filename=c.db_compare_filename,
        )
        self.checkpointer = Checkpointer(
            self.store, self.table, self.inflight, context, self.source
        )
        self.decoders = DecoderFactory(
            key=c.key,
            path_key=c.path_key,
            offset_key=c.offset_key,
            parser=c.parser,
            docker_mode=c.docker_mode,
            docker_mode_flush=c.docker_mode_flush,
            docker_mode_parser=c.docker_mode_parser,
            multiline=c.multiline_parser,
            location=self.location,
        )
        tagger = TagComposer(c.tag or context.instance, c.tag_regex)
        rules = LineRules(
            max_line=c.buffer_max_size,
            skip_long=c.skip_long_lines,
            truncate_long=c.truncate_long_lines,
            skip_empty=c.skip_empty_lines,
        )
        selection = Selection(
            paths=c.path,
            excludes=c.exclude_path,
            ignore_older=c.ignore_older,
            from_head=self.from_head,
            to_end=self.to_end,
        )
        self.discovery = Discovery(
            selection, self.table, self.store, tagger, rules, self.decoders, context
        )
        self.pump = Pump(self.checkpointer, self.inflight, context, self.source)
        self.changes = FileChanges(
            c.rotate_wait,
            self.table,
            self.store,
            self.checkpointer,
            self.discovery,
            self.pump,
            tagger,
            context,
        )
        self._watcher: Watcher | None = None
        context.metrics.probe(context.instance, self.checkpointer.lag)

    def _bind_context(self) -> None:
        """The one place the input reads what the engine shares: the config's parser
        registries and the outputs' cut points (filled before any input runs)."""
        context = self.context
        self.decoders.bind(context.parsers, context.multiline_parsers)
        self.checkpointer.use_cut_points(context.cut_points)

    # -- run -----------------------------------------------------------------------------
    async def run(self, emit: Emit) -> None:
        self._bind_context()
        resumed = await self.checkpointer.open()
        if self.to_end and not self.from_head:
            self.context.logger.warning(
                "tail: note: Read_from_Head Off: a file with no checkpoint is read from its "
                "end, so nothing already in it is read (remove the line to read it all)"
            )
        if self.config.refresh_interval <= 0.001:
            self.context.logger.warning(
                "tail: Refresh_Interval %gs rescans Path on nearly every pass (high CPU)",
                self.config.refresh_interval,
            )
        self.discovery.start(resumed)
        await self.checkpointer.persist()
        if self.to_end:
            for f in self.table.snapshot():
                await self.pump.read(f, emit, budget=None)
                await self.pump.emit(f, f.finish(time.time()), emit)
                self.changes.close(f)
            unreadable = self.discovery.unreadable
            if unreadable:
                listed = ", ".join(f"{path} ({why})" for path, why in sorted(unreadable.items()))
                raise PluginError(f"cannot read {len(unreadable)} file(s): {listed}")
            return
        if self.config.inotify_watcher:
            watcher = Watcher(asyncio.get_running_loop(), self.context.logger)
            watcher.start()
            for root in watch_roots(self.config.path):
                watcher.watch(root)
            for f in self.table:
                watcher.watch(os.path.dirname(os.path.realpath(f.path)))
            self._watcher = self.discovery.watcher = self.changes.watcher = watcher
        self.context.spawn(self.checkpointer.persist_loop(), f"{self.source}.checkpoint")
        await self._follow(emit)

    async def _follow(self, emit: Emit) -> None:
        """Visit the files that can have something to do, not all of them every time.

        Each wake-up visits the files notifications named and those whose read budget ran
        out; every poll tick adds the ones that need a clock (rotated files waiting out
        Rotate_Wait, decoders holding a partial record, directories inotify does not cover);
        a full pass over every file runs each poll tick without inotify, and as a safety net
        every SAFETY_PASS seconds with it.
        """
        refresh = self.config.refresh_interval
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
            targets = busy | self.pump.take_starved()
            full = now >= next_full
            if full:
                next_full, next_tick = now + full_every, now + POLL_INTERVAL
                by_real = {f.real: f for f in self.table}
                targets.update(self.table)
                polled = set()
                if watcher is not None:
                    polled = {f for f in self.table if not watcher.covers(os.path.dirname(f.real))}
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
                    readable = await self.changes.check(f, emit, renames=full or f in clocked)
                    if not f.closed and readable and await self.pump.read(f, emit, FILE_BUDGET):
                        busy.add(f)
                    if not f.closed and f.decoder.held_from() is not None:
                        await self.pump.emit(f, f.decoder.flush_expired(time.time()), emit)
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
                self.discovery.rescan()
                self.checkpointer.drop_gone()
                await self.checkpointer.persist()
                next_full = 0.0
                # A pass may finish without suspending once: with a short Refresh_Interval
                # every pass would end here, and the loop would never let SIGTERM in.
                await asyncio.sleep(0)
                continue
            if busy:
                await asyncio.sleep(0)
                continue
            await self._sleep(watcher, min(next_tick, next_full) - now, started)

    async def _sleep(self, watcher: Watcher | None, timeout: float, started: float) -> None:
        resumed = self.inflight.resumed
        waiters = [asyncio.ensure_future(resumed.wait())]
        if watcher is not None:
            waiters.append(asyncio.ensure_future(watcher.changed.wait()))
        try:
            await asyncio.wait(
                waiters, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if watcher is not None and watcher.changed.is_set() and not resumed.is_set():
            # Busy files notify once per write: gathering for a moment lets one pass serve
            # many of them instead of one pass per write.
            delay = started + NOTIFY_GATHER - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if watcher is not None:
            watcher.changed.clear()
        resumed.clear()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        try:
            await self.checkpointer.persist()
        finally:
            self.table.close_all()
            await self.checkpointer.close()
