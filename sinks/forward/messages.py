"""Events -> the PackedForward messages one flush sends.

Each message holds at most :data:`MESSAGE_BYTES` of packed entries (before gzip), well
under a receiver's default ``Buffer_Max_Size`` (6,144,000 bytes in Fluent Bit); with
``Require_ack_response`` each gets its own ``chunk`` id, so a failure part-way resends only
the messages the receiver did not acknowledge.
"""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.events import Event
from logtide.agent.core.forward.codec import new_chunk_id, packed_message, split_entries
from logtide.sinks.forward.options import ForwardOutputSettings

MESSAGE_BYTES = 1024 * 1024


@dataclass(slots=True)
class Outgoing:
    """One message's bytes, the events it carries and the chunk id it wants acked."""

    events: list[Event]
    data: bytes
    chunk: str | None


def _by_tag(tag: str, events: list[Event], config: ForwardOutputSettings) -> dict[str, list[Event]]:
    template = config.tag_template
    if template is None:
        return {tag: events}
    if template.is_static:
        return {template.text: events}
    groups: dict[str, list[Event]] = {}
    for event in events:
        # A record without the key keeps the tag it came with, as Fluent Bit does.
        name = template.render(tag, event[1]) or tag
        groups.setdefault(name, []).append(event)
    return groups


def build(tag: str, events: list[Event], config: ForwardOutputSettings) -> list[Outgoing]:
    out: list[Outgoing] = []
    for name, group in _by_tag(tag, events, config).items():
        for carried, entries in split_entries(group, MESSAGE_BYTES, config.time_as_integer):
            chunk = new_chunk_id() if config.require_ack_response else None
            data = packed_message(
                name,
                entries,
                len(carried),
                compress=config.gzip,
                chunk=chunk,
                options=config.send_options,
            )
            out.append(Outgoing(carried, data, chunk))
    return out
