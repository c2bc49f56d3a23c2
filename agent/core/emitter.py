"""How a filter puts new records into the pipeline's start: the :class:`Emitter` contract.

Fluent Bit gives ``rewrite_tag`` and the buffered ``multiline`` filter an *emitter*, an
input of their own whose records run through every filter again under their new tag. Here
the engine gives such a filter an :class:`Emitter` in its context (``PluginContext.emitter``)
when its settings extend :class:`EmitterFilterSettings` (the ``Emitter_*`` options).

Acknowledgements: an emitted record holds the acknowledgement of the record it came from.
:meth:`Emitter.emit` retains that acknowledgement at once and the engine settles it when the
emitted chunk has been taken by every output (or dropped), so the source's checkpoint waits
for the emitted copy's delivery as well as the original's.

Source ranges (what exactly-once outputs recognise after a restart, ``Chunk.origin``): records
emitted with the acknowledgement of the chunk being filtered keep that chunk's range under the
emitter's own mark (``rewrite_tag``'s copies). Records joined from lines of the current chunk
and earlier chunks of the same stream (``multiline``) are emitted with ``start=``: their
chunk continues the current chunk's stream (``Chunk.continues``), with the range from
``start`` to the current chunk's end, so it is counted under the same mark as that stream's
plain chunks (see ``docs/architecture.md``, "Joined records and exactly-once outputs").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.events import Ack, Event, Origin
from logtide.agent.core.options import Option

#: A record emitted more often than this along one chain (re-tagged, re-tagged again, ...)
#: is dropped with an error: a rule that matches its own output would loop forever.
MAX_HOPS = 8

EMITTER_OPTIONS: tuple[Option, ...] = (
    Option(
        "Emitter_Name",
        description="Name of the emitter: the source its records carry (FROM STREAM:<name>) "
        "and the name its metrics are kept under; default emitter_for_<filter instance>.",
    ),
    Option(
        "Emitter_Storage.type",
        "enum",
        "memory",
        "Accepted: emitted records are held in memory and re-derived from the source after a "
        "crash, as their source's checkpoint waits for them.",
        choices=("memory", "filesystem"),
    ),
    Option(
        "Emitter_Mem_Buf_Limit",
        "size",
        "10M",
        "Bytes of emitted records that may wait to enter the pipeline; beyond it the "
        "emitting side waits (nothing is dropped).",
    ),
)

FILTER_WITH_EMITTER_OPTIONS: tuple[Option, ...] = (*COMMON_FILTER_OPTIONS, *EMITTER_OPTIONS)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitterFilterSettings(FilterSettings):
    """Settings of a filter that emits records: the engine gives it an :class:`Emitter`."""

    emitter_name: str | None
    emitter_storage_type: Literal["memory", "filesystem"]
    emitter_mem_buf_limit: int


class Emitter(ABC):
    """A filter's way to put records into the pipeline's start (built by the engine).

    Inside ``FilterPlugin.__call__`` a filter calls :meth:`emit`: the records are queued and
    enter the pipeline, through every filter, once the current chunk's filter pass is over,
    in the task of the input that produced that chunk (so backpressure reaches the input).
    Outside a call (a flush timer the filter owns) it awaits :meth:`send`.
    """

    #: The emitter's name: emitted chunks carry it as their source.
    name: str

    @property
    @abstractmethod
    def ack(self) -> Ack:
        """The acknowledgement of the chunk being filtered now (only inside a filter call).

        A filter that keeps records past the call (to join them later) retains it and
        passes it to :meth:`emit` or :meth:`send` with the records, or settles it."""

    @property
    @abstractmethod
    def own(self) -> bool:
        """True when the chunk being filtered now was emitted by this emitter."""

    @property
    @abstractmethod
    def origin(self) -> tuple[str, Origin] | None:
        """The stream (``Chunk.continues`` or ``Chunk.source``) and the source range of the
        chunk being filtered now; None when it has no range (only inside a filter call)."""

    @abstractmethod
    def emit(
        self, tag: str, events: list[Event], ack: Ack | None = None, *, start: int | None = None
    ) -> None:
        """Queue ``events`` to enter the pipeline under ``tag`` after the current filter pass.

        They hold ``ack`` (default: :attr:`ack`, the chunk being filtered), which is retained
        here; the caller keeps whatever reference it had. With ``start`` (an offset in the
        current chunk's source, where the earliest line behind ``events`` was read from) the
        events were joined from lines of the current chunk and earlier chunks of its stream
        and source: their chunk continues that stream, with the range from ``start`` to the
        current chunk's end. The caller vouches that every record completed by the current
        chunk's lines and not yet passed on is among ``events``."""

    @abstractmethod
    async def send(self, tag: str, events: list[Event], ack: Ack) -> None:
        """Put ``events`` through the pipeline under ``tag`` now, from a task (not from a
        filter call); waits while the emitter holds ``Emitter_Mem_Buf_Limit`` bytes or the
        outputs are full. ``ack`` is retained here, as by :meth:`emit`."""
