"""Reading a file into chunks: big reads, chunk boundaries, Mem_Buf_Limit, counters.

A visit reads a file up to a byte budget (or to its end), cutting chunks at
``CHUNK_EVENTS`` events or ``CHUNK_BYTES`` bytes and at an output's watermark (cut points).
Each chunk's byte range goes through the
:class:`~logtide.agent.inputs.tail.checkpointer.Checkpointer`, which gives it the
acknowledgement that may move the checkpoint. While more bytes than Mem_Buf_Limit are
unacknowledged a live run leaves the file *starved* (read again once acknowledgements free
memory); a run that ends waits for them instead.
"""

from __future__ import annotations

import time

from logtide.agent.core.events import Chunk, Event
from logtide.agent.core.plugins import Emit, PluginContext
from logtide.agent.inputs.tail.checkpointer import Checkpointer
from logtide.agent.inputs.tail.inflight import InFlight
from logtide.agent.inputs.tail.reader import READ_BLOCK, TailedFile

# About one read block a chunk. An input's step runs unsuspended from one chunk to the next
# until an output queue is full, holding each chunk's records twice while a filter rebuilds
# them: 4,096 events / 512 KiB made that transient ~10 MiB of peak RSS (bench scenario b).
CHUNK_BYTES = 128 * 1024
CHUNK_EVENTS = 1024


class Pump:
    """Reads open files and emits their chunks."""

    def __init__(
        self,
        checkpointer: Checkpointer,
        inflight: InFlight,
        context: PluginContext,
        source: str,
    ) -> None:
        self.checkpointer = checkpointer
        self.inflight = inflight
        self.context = context
        self.source = source
        # Files that stopped reading at Mem_Buf_Limit: read again once acks free memory.
        self._starved: set[TailedFile] = set()

    def take_starved(self) -> set[TailedFile]:
        starved, self._starved = self._starved, set()
        return starved

    async def read(self, f: TailedFile, emit: Emit, budget: int | None) -> bool:
        """Read ``f`` up to ``budget`` bytes (None: to its end); True if more is waiting."""
        events: list[Event] = []
        start_pos = f.pos
        more = False
        while True:
            while self.inflight.over:
                if events:
                    await self.emit(f, events, emit)
                    events = []
                if not self.context.once and budget is not None:
                    self._starved.add(f)
                    return False
                await self.inflight.wait()
            cut = self.checkpointer.next_cut(f)
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
                await self.emit(f, events, emit)
                events = []
            if f.eof:
                break
            if budget is not None and f.pos - start_pos >= budget:
                more = True
                break
        await self.emit(f, events, emit)
        return more

    async def emit(self, f: TailedFile, events: list[Event], emit: Emit) -> None:
        """Send ``events`` as the chunk of ``f``'s bytes up to where a checkpoint may go now
        (with no events, those bytes are only passed over)."""
        self._collect_counters(f)
        start = f.emitted_to
        end = max(f.safe, start)
        if not events:
            self.checkpointer.pass_over(f, start, end)
            return
        ack, origin = await self.checkpointer.deliver(f, start, end)
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
        if (f.long_lines_skipped or f.long_lines_truncated) and not f.long_lines_told:
            f.long_lines_told = True
            self.context.logger.warning(
                "tail: %s has lines too long for Buffer_Max_Size (%d bytes): %s",
                f.path,
                f.rules.max_line,
                "cutting them (counted in long_lines_truncated)"
                if f.rules.truncate_long
                else "skipping them (counted in long_lines_skipped)",
            )
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
