"""Mem_Buf_Limit: how many bytes the input emitted that are not acknowledged yet.

Reading stops while that count is above the limit and resumes when acknowledgements bring it
back under; ``resumed`` also wakes the input's follow loop so the files that stopped are read
again at once.
"""

from __future__ import annotations

import asyncio


class InFlight:
    """Bytes emitted and not yet acknowledged, against ``limit`` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.bytes = 0
        self.resumed = asyncio.Event()

    @property
    def over(self) -> bool:
        return bool(self.limit) and self.bytes > self.limit

    def sent(self, size: int) -> None:
        self.bytes += size

    def acknowledged(self, size: int) -> None:
        """An acknowledgement returned ``size`` bytes (0 when they were already dropped by
        :meth:`dropped`); wakes readers if that brings the count under the limit."""
        self.bytes -= size
        if self.limit and self.bytes <= self.limit:
            self.resumed.set()

    def dropped(self, size: int) -> None:
        """A truncation discarded ``size`` unacknowledged bytes: they no longer count."""
        self.bytes -= size

    async def wait(self) -> None:
        """Until the next acknowledgement that brings the count under the limit."""
        self.resumed.clear()
        await self.resumed.wait()
