"""The acknowledgement gate: the journal cursor moves only over what every output accepted.

Entries are read in journal order and leave in rounds; a round's chunks (one per tag) are
handed out in that order, and the last one carries the cursor of the round's last entry. The
cursor moves to it once every chunk before it and itself settled True. A chunk that settled
False (an output gave up) stops the cursor for the rest of the run, so the next start reads
from it again.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from logtide.agent.core.events import Ack


@dataclass(slots=True)
class _Slot:
    cursor: str | None
    size: int
    state: bool | None = None


class CursorGate:
    """Chunks in flight, in emission order, and the cursor of the acknowledged prefix."""

    def __init__(self, committed: str | None) -> None:
        self.committed = committed
        self.blocked = False
        self.in_flight = 0
        self.failed = 0
        self._slots: deque[_Slot] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Called on the loop whenever an acknowledgement settles (the cursor may have moved,
        #: in-flight bytes went down).
        self.on_move: Callable[[], None] | None = None
        self._thread = 0

    def bind_loop(self) -> None:
        """Settle on the running loop's thread, whichever thread an output settles from."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def ack(self, cursor: str | None, size: int) -> Ack:
        """The acknowledgement of the next chunk; ``cursor`` is where the journal may resume
        once it (and everything before it) is delivered, ``None`` if not at its end."""
        slot = _Slot(cursor, size)
        self._slots.append(slot)
        self.in_flight += size
        return Ack(lambda ok: self._from_any_thread(slot, ok))

    def pass_over(self, cursor: str) -> None:
        """Entries up to ``cursor`` produced no chunk (filtered out): the cursor may cross
        them once everything before is delivered."""
        self._settle(self._add(cursor), True)

    def _add(self, cursor: str) -> _Slot:
        slot = _Slot(cursor, 0)
        self._slots.append(slot)
        return slot

    def _from_any_thread(self, slot: _Slot, ok: bool) -> None:
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._settle, slot, ok)
        else:
            self._settle(slot, ok)

    def _settle(self, slot: _Slot, ok: bool) -> None:
        slot.state = ok
        self.in_flight -= slot.size
        if not ok:
            self.failed += 1
        slots = self._slots
        while slots and slots[0].state is not None:
            head = slots.popleft()
            if head.state is False:
                self.blocked = True
            elif not self.blocked and head.cursor is not None:
                self.committed = head.cursor
        if self.on_move is not None:
            self.on_move()

    @property
    def idle(self) -> bool:
        return not self._slots
