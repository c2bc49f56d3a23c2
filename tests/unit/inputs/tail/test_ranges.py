"""The contiguous acknowledged prefix of one file's ranges."""

from __future__ import annotations

from logtide.agent.inputs.tail.ranges import RangeTracker


def test_checkpoint_moves_over_contiguous_acknowledged_prefix_only() -> None:
    tracker = RangeTracker(0)
    a = tracker.add(0, 10, b"a")
    b = tracker.add(10, 25, b"b")
    c = tracker.add(25, 30, b"c")
    assert not tracker.settle(b, True)
    assert tracker.committed == 0
    assert tracker.settle(a, True)
    assert (tracker.committed, tracker.fingerprint) == (25, b"b")
    assert tracker.outstanding == 5
    assert tracker.settle(c, True)
    assert tracker.committed == 30 and tracker.idle


def test_failed_range_stops_the_checkpoint_at_its_start() -> None:
    tracker = RangeTracker(100)
    a = tracker.add(100, 110, b"")
    b = tracker.add(110, 120, b"")
    c = tracker.add(120, 130, b"")
    tracker.settle(b, False)
    tracker.settle(c, True)
    assert tracker.settle(a, True)
    assert tracker.committed == 110 and tracker.blocked
    d = tracker.add(130, 140, b"")
    assert not tracker.settle(d, True)
    assert tracker.committed == 110
