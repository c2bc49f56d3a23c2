"""A round of journal entries into chunks: one per tag, each with its origin and ack.

Entries keep their journal order within each chunk. A chunk's origin names the journal by its
sequence-number id (``s=`` of the cursor) and covers the entries' sequence numbers, which
stay the same across restarts; so an exactly-once output recognises a chunk read again, and a
chunk ends where an output's watermark ends (the engine's cut points).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from logtide.agent.core.events import Event, Origin
from logtide.agent.inputs.systemd.export import Entry

UNKNOWN_UNIT = "unknown"


def cursor_position(cursor: str) -> tuple[str, int] | None:
    """``(seqnum id, seqnum)`` of a cursor, ``None`` if it has no ``s=``/``i=`` part."""
    seqnum_id = ""
    seqnum = -1
    for part in cursor.split(";"):
        if part.startswith("s="):
            seqnum_id = part[2:]
        elif part.startswith("i="):
            try:
                seqnum = int(part[2:], 16)
            except ValueError:
                return None
    if not seqnum_id or seqnum < 0:
        return None
    return seqnum_id, seqnum


class TagTemplate:
    """``Tag`` with its first ``*`` replaced by the entry's ``_SYSTEMD_UNIT`` (``unknown``
    when it has none), as Fluent Bit does."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        head, star, tail = tag.partition("*")
        self._parts = (head, tail) if star else None

    def __call__(self, unit: str | None) -> str:
        if self._parts is None:
            return self.tag
        return f"{self._parts[0]}{unit or UNKNOWN_UNIT}{self._parts[1]}"


@dataclass(slots=True)
class Group:
    """Events bound for one chunk."""

    tag: str
    source: str | None
    start: int
    end: int
    limit: int | None
    events: list[Event] = field(default_factory=list)

    @property
    def origin(self) -> Origin | None:
        if self.source is None:
            return None
        return Origin(self.source, self.start, self.end)


def group_round(
    entries: Sequence[Entry],
    tag_of: TagTemplate,
    instance: str,
    cut_points: Mapping[str, Sequence[int]],
) -> list[Group]:
    """The chunks of a round, in the order they close (each tag's last one at the end)."""
    open_groups: dict[tuple[str, str | None], Group] = {}
    closed: list[Group] = []
    for entry in entries:
        tag = tag_of(entry.unit)
        position = cursor_position(entry.cursor)
        source = f"{instance}:{position[0]}" if position else None
        seqnum = position[1] if position else 0
        key = (tag, source)
        group = open_groups.get(key)
        if group is not None and (
            (group.limit is not None and seqnum >= group.limit) or seqnum < group.end
        ):
            closed.append(open_groups.pop(key))
            group = None
        if group is None:
            ends = cut_points.get(source or "", ())
            index = bisect.bisect_right(ends, seqnum)
            limit = ends[index] if index < len(ends) else None
            group = open_groups[key] = Group(tag, source, seqnum, seqnum, limit)
        group.events.append((entry.time, entry.record))
        group.end = seqnum + 1
    closed.extend(open_groups.values())
    return closed
