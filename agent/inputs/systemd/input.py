"""The ``systemd`` input: read the journal through ``journalctl``, emit a chunk per tag per
round, and store the cursor only over what every output accepted.

The child starts at the stored cursor (``--cursor``, which prints the stored entry first);
that entry was delivered and is skipped. If the first entry is another one, the stored entry
is gone (vacuumed, or it no longer matches Systemd_Filter): one warning, and reading goes on
from the next entry the journal has. If the child dies, it is started again after a backoff
at the last entry read, so nothing is skipped or read twice within a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, ParamSpec, TypeVar

from logtide.agent.core.errors import PluginError
from logtide.agent.core.events import Chunk
from logtide.agent.core.notices import FailureNotice
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import Emit, InputPlugin, PluginContext
from logtide.agent.inputs.state_db import open_when_possible
from logtide.agent.inputs.systemd.cursor_db import CursorStore
from logtide.agent.inputs.systemd.export import Entry, ExportParser, Shape
from logtide.agent.inputs.systemd.gate import CursorGate
from logtide.agent.inputs.systemd.journalctl import (
    Journalctl,
    command,
    field_values,
    journalctl_path,
    last_cursor,
)
from logtide.agent.inputs.systemd.options import OPTIONS, SystemdSettings
from logtide.agent.inputs.systemd.rounds import TagTemplate, group_round

PERSIST_INTERVAL = 1.0
RESTART_FIRST = 1.0
RESTART_MAX = 30.0

P = ParamSpec("P")
R = TypeVar("R")


class SystemdInput(InputPlugin[SystemdSettings]):
    """Fluent Bit's ``systemd``: journal entries, from a cursor kept across restarts."""

    name: ClassVar[str] = "systemd"
    description: ClassVar[str] = "Read the systemd journal (journald) with a cursor DB."
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    @classmethod
    def checkpoint_db(cls, config: SystemdSettings) -> str | None:
        return config.db

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        c = self.config
        self.store = CursorStore(c.db, c.db_sync)
        self.gate = CursorGate(None)
        self.tag_of = TagTemplate(c.tag or context.instance)
        self.shape = Shape(c.strip_underscores, c.lowercase, c.max_fields)
        self.every = c.systemd_filter_type == "And" and len(c.matches) > 1
        self.position: str | None = None
        self.written: str | None = None
        self._write_notice = FailureNotice(
            context.logger,
            f"systemd: writing cursor DB {c.db}",
            "the cursor stays where the DB has it: entries after it are read again after a restart",
        )
        self._open_notice = FailureNotice(
            context.logger, f"systemd: opening cursor DB {c.db}", "no entry is read until it opens"
        )
        self._executor: ThreadPoolExecutor | None = None
        self._settled = asyncio.Event()
        self._child: Journalctl | None = None

    # -- the cursor DB, in its own thread --------------------------------------------------
    async def _db(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._executor is None:
            return call(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: call(*args, **kwargs))

    async def persist(self) -> None:
        """Write the committed cursor; one the DB refuses is written at the next try."""
        cursor = self.gate.committed
        if cursor is not None and cursor != self.written:
            try:
                await self._db(self.store.write, cursor)
            except sqlite3.Error as exc:
                self._write_notice.failed(exc, PERSIST_INTERVAL)
                return
            self._write_notice.succeeded()
            self.written = cursor

    async def _persist_loop(self) -> None:
        # Written as soon as an acknowledgement moved the cursor, so what an output already
        # holds but the DB does not cover (read again after a crash) stays a short window.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), PERSIST_INTERVAL)
            self._settled.clear()
            await self.persist()

    # -- run -------------------------------------------------------------------------------
    async def run(self, emit: Emit) -> None:
        c = self.config
        binary = journalctl_path()
        if c.path is not None:
            _check_folder(c.path)
        if c.db:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{self.context.instance}-db")
        self.position = await open_when_possible(
            functools.partial(self._db, self.store.open), self._open_notice, PERSIST_INTERVAL
        )
        self.gate = CursorGate(self.position)
        self.written = self.position
        self.gate.bind_loop()
        self.gate.on_move = self._settled.set
        await self._check_matches(binary)
        if self.position is None and c.read_from_tail:
            # Start after the entry that is last now: every restart of the child, and the
            # DB, then name a real position, so nothing written meanwhile is skipped.
            self.position = await last_cursor(binary, c.path, c.matches)
            self.context.logger.info(
                "systemd: Read_From_Tail: reading after %s", self.position or "an empty journal"
            )
        follow = not self.context.once
        if follow:
            self.context.spawn(self._persist_loop(), f"{self.context.instance}.cursor")
        delay = RESTART_FIRST
        while True:
            argv = command(
                binary,
                c.path,
                c.matches,
                cursor=self.position,
                follow=follow,
            )
            child = self._child = Journalctl(argv, self.context.logger, self.context.spawn)
            await child.start()
            try:
                got = await self._read(child, emit)
                status = await child.wait()
            finally:
                await child.stop()
                self._child = None
            if not follow:
                if status != 0:
                    raise PluginError(f"systemd: journalctl exited with status {status}")
                return
            delay = RESTART_FIRST if got else min(delay * 2, RESTART_MAX)
            self.context.logger.warning(
                "systemd: journalctl exited with status %s; starting it again in %.0fs",
                status,
                delay,
            )
            await asyncio.sleep(delay)

    async def _check_matches(self, binary: str) -> None:
        """A Systemd_Filter no entry of the journal matches (a typo in a unit name reads
        nothing, silently): one warning each, naming the values that field has."""
        matches = self.config.matches
        for name in dict.fromkeys(field for field, _ in matches):
            try:
                values = await field_values(binary, self.config.path, name)
            except OSError:
                return
            for field, value in matches:
                if field == name and value not in values:
                    known = ", ".join(sorted(values)[:10]) or "none"
                    self.context.logger.warning(
                        "systemd: Systemd_Filter %s=%s matches no entry in the journal yet "
                        "(values of %s there: %s)",
                        field,
                        value,
                        field,
                        known,
                    )

    async def _read(self, child: Journalctl, emit: Emit) -> bool:
        """Read the child's output to its end; True when it gave any entry."""
        c = self.config
        parser = ExportParser(self.shape)
        expect = self.position
        batch: list[Entry] = []
        size = 0
        started = 0.0
        got = False
        while True:
            timeout = None
            if batch and c.interval > 0:
                timeout = max(0.0, started + c.interval - time.monotonic())
            block = await child.read(timeout)
            if block is None:
                await self._emit(batch, size, emit)
                batch, size = [], 0
                continue
            if not block:
                await self._emit(batch, size, emit)
                return got
            size += len(block)
            for entry in parser.feed(block):
                if expect is not None:
                    if entry.cursor == expect:
                        expect = None
                        continue
                    self.context.logger.warning(
                        "systemd: the entry at the stored cursor is no longer in the journal "
                        "(vacuumed, or it no longer matches Systemd_Filter); reading on from "
                        "the oldest entry after it"
                    )
                    expect = None
                if not batch:
                    started = time.monotonic()
                batch.append(entry)
                got = True
                if len(batch) >= c.max_entries:
                    await self._emit(batch, size, emit)
                    batch, size = [], 0
            if batch and c.interval <= 0:
                await self._emit(batch, size, emit)
                batch, size = [], 0

    async def _emit(self, batch: list[Entry], size: int, emit: Emit) -> None:
        """One round: a chunk per tag; the last carries the round's cursor."""
        if not batch:
            return
        self.position = last = batch[-1].cursor
        kept = batch
        if self.every:
            wanted = self.config.matches
            kept = [e for e in batch if all(m in e.fields for m in wanted)]
        groups = group_round(kept, self.tag_of, self.context.instance, self.context.cut_points)
        if not groups:
            self.gate.pass_over(last)
            return
        share = max(1, size // len(kept))
        limit = self.config.mem_buf_limit
        for index, group in enumerate(groups):
            while limit and self.gate.in_flight > limit:
                self._settled.clear()
                await self._settled.wait()
            cursor = last if index == len(groups) - 1 else None
            chunk_size = share * len(group.events)
            ack = self.gate.ack(cursor, chunk_size)
            await emit(Chunk(group.tag, group.events, ack, size=chunk_size, origin=group.origin))

    async def close(self) -> None:
        if self._child is not None:
            await self._child.stop()
        try:
            await self.persist()
        finally:
            await self._db(self.store.close)
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None


def _check_folder(path: str) -> None:
    """Path must be a folder this process can list: one clear line otherwise (journalctl
    itself would show an empty journal)."""
    try:
        os.listdir(path)
    except NotADirectoryError:
        raise PluginError(f"systemd: Path {path} is not a directory") from None
    except OSError as exc:
        raise PluginError(f"systemd: cannot read Path {path}: {exc.strerror}") from None
