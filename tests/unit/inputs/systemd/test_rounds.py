"""A round of entries into chunks, and the cursor gate over their acknowledgements."""

from __future__ import annotations

from logtide.agent.inputs.systemd.export import Entry
from logtide.agent.inputs.systemd.gate import CursorGate
from logtide.agent.inputs.systemd.rounds import TagTemplate, cursor_position, group_round


def _entry(seq: int, unit: str | None) -> Entry:
    return Entry(f"s=aa;i={seq:x};b=bb", float(seq), {"n": seq}, unit, [])


def test_tag_star_is_the_unit_or_unknown() -> None:
    assert TagTemplate("host.*")("kubelet.service") == "host.kubelet.service"
    assert TagTemplate("a.*.b")(None) == "a.unknown.b"
    assert TagTemplate("journal")("x.service") == "journal"


def test_cursor_position() -> None:
    assert cursor_position("s=ab;i=1f;b=c") == ("ab", 31)
    assert cursor_position("b=c") is None


def test_one_chunk_per_tag_in_journal_order_with_origins() -> None:
    entries = [_entry(1, "a"), _entry(2, "b"), _entry(3, "a")]
    groups = group_round(entries, TagTemplate("h.*"), "systemd.0", {})
    assert [(g.tag, [r["n"] for _, r in g.events]) for g in groups] == [
        ("h.a", [1, 3]),
        ("h.b", [2]),
    ]
    assert groups[0].origin is not None
    assert (groups[0].origin.source, groups[0].origin.start, groups[0].origin.end) == (
        "systemd.0:aa",
        1,
        4,
    )


def test_chunks_end_at_cut_points() -> None:
    entries = [_entry(n, "a") for n in range(1, 7)]
    groups = group_round(entries, TagTemplate("t"), "systemd.0", {"systemd.0:aa": [4]})
    assert [[r["n"] for _, r in g.events] for g in groups] == [[1, 2, 3], [4, 5, 6]]


def test_gate_moves_over_the_acknowledged_prefix_only() -> None:
    gate = CursorGate("c0")
    first, second, third = gate.ack(None, 10), gate.ack("c2", 10), gate.ack("c3", 10)
    third.settle(True)
    assert gate.committed == "c0" and gate.in_flight == 20
    second.settle(True)
    assert gate.committed == "c0"
    first.settle(True)
    assert gate.committed == "c3" and gate.in_flight == 0 and gate.idle


def test_gate_stops_at_a_failed_chunk() -> None:
    gate = CursorGate(None)
    failed, later = gate.ack("c1", 1), gate.ack("c2", 1)
    failed.settle(False)
    later.settle(True)
    gate.pass_over("c3")
    assert gate.committed is None and gate.blocked
