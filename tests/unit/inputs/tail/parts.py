"""The tail input's objects wired together as :class:`TailInput` wires them, over a real
folder, for tests of one object at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from logtide.agent.core.errors import Location
from logtide.agent.core.plugins import Emit, PluginContext
from logtide.agent.inputs.tail.changes import FileChanges
from logtide.agent.inputs.tail.checkpoint_db import CheckpointStore
from logtide.agent.inputs.tail.checkpointer import Checkpointer
from logtide.agent.inputs.tail.decoder_factory import DecoderFactory
from logtide.agent.inputs.tail.discovery import Discovery, Selection
from logtide.agent.inputs.tail.file_table import FileTable
from logtide.agent.inputs.tail.inflight import InFlight
from logtide.agent.inputs.tail.pump import Pump
from logtide.agent.inputs.tail.reader import LineRules, TailedFile
from logtide.agent.inputs.tail.tagging import TagComposer
from tests.unit.inputs.tail.harness import Sink

LOCATION = Location("test.conf", 1)


@dataclass
class Parts:
    context: PluginContext
    table: FileTable
    store: CheckpointStore
    inflight: InFlight
    checkpointer: Checkpointer
    pump: Pump
    discovery: Discovery
    changes: FileChanges
    sink: Sink = field(default_factory=Sink)

    @property
    def emit(self) -> Emit:
        return self.sink.emit

    def open(self, path: Path, *, from_head: bool = True) -> TailedFile:
        f = self.discovery.open(str(path), from_head=from_head)
        assert f is not None
        return f


def decoders(
    *,
    parser: str | None = None,
    docker_mode: bool = False,
    docker_mode_parser: str | None = None,
    multiline: tuple[str, ...] | list[str] = (),
) -> DecoderFactory:
    return DecoderFactory(
        key="log",
        path_key=None,
        offset_key=None,
        parser=parser,
        docker_mode=docker_mode,
        docker_mode_flush=4.0,
        docker_mode_parser=docker_mode_parser,
        multiline=multiline,
        location=LOCATION,
    )


def wire(
    context: PluginContext,
    *,
    db: Path | None = None,
    patterns: list[str] | None = None,
    excludes: list[str] | None = None,
    ignore_older: float = 0.0,
    from_head: bool = True,
    to_end: bool = False,
    limit: int = 0,
    rotate_wait: float = 0.0,
    max_line: int = 32768,
) -> Parts:
    table = FileTable()
    store = CheckpointStore(str(db) if db else None)
    inflight = InFlight(limit)
    checkpointer = Checkpointer(store, table, inflight, context, "src")
    factory = decoders()
    factory.bind(None, None)
    tagger = TagComposer("t.*", None)
    rules = LineRules(max_line=max_line, skip_long=False, truncate_long=False, skip_empty=False)
    selection = Selection(patterns or [], excludes or [], ignore_older, from_head, to_end)
    discovery = Discovery(selection, table, store, tagger, rules, factory, context)
    pump = Pump(checkpointer, inflight, context, "src")
    changes = FileChanges(rotate_wait, table, store, checkpointer, discovery, pump, tagger, context)
    return Parts(context, table, store, inflight, checkpointer, pump, discovery, changes)
