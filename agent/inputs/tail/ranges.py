"""Which byte ranges of a file are delivered: the contiguous acknowledged prefix.

Chunks of one file cover consecutive ranges ``[start, end)`` in read order, but their
acknowledgements can fire in any order (different outputs, retries). The checkpoint may only
move to the end of the longest prefix of ranges that all fired True. A range that fired False
(an output gave up on it) stops the prefix for good: the checkpoint stays at its start so the
next run re-reads it, and nothing after it is committed in this run either.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(slots=True)
class Span:
    """One emitted range; ``fingerprint`` holds up to 256 bytes that end at ``end``."""

    start: int
    end: int
    fingerprint: bytes
    state: bool | None = None


class RangeTracker:
    """Outstanding ranges of one file generation (a truncation starts a new tracker)."""

    __slots__ = ("blocked", "committed", "fingerprint", "spans")

    def __init__(self, committed: int, fingerprint: bytes = b"") -> None:
        self.committed = committed
        self.fingerprint = fingerprint
        self.spans: deque[Span] = deque()
        self.blocked = False

    def add(self, start: int, end: int, fingerprint: bytes) -> Span:
        span = Span(start, end, fingerprint)
        self.spans.append(span)
        return span

    @property
    def outstanding(self) -> int:
        """Bytes emitted but not yet acknowledged (what Mem_Buf_Limit counts)."""
        return sum(span.end - span.start for span in self.spans if span.state is None)

    @property
    def idle(self) -> bool:
        """No range is waiting for its acknowledgement."""
        return all(span.state is not None for span in self.spans)

    def settle(self, span: Span, ok: bool) -> bool:
        """Record an acknowledgement; True when :attr:`committed` moved."""
        span.state = ok
        moved = False
        spans = self.spans
        while spans and spans[0].state is not None:
            head = spans.popleft()
            if head.state is False:
                self.blocked = True
            elif not self.blocked and head.end > self.committed:
                self.committed = head.end
                self.fingerprint = head.fingerprint
                moved = True
        return moved
