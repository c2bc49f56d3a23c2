"""Fluent Bit's stream processor on sqlglot: ``[STREAM_TASK]`` statements, compiled once.

- :func:`compile` turns one statement into a :class:`Query` (``matches(tag)``,
  ``process(tag, events)``).
- :class:`StreamProcessor` runs a pipeline's :class:`StreamTask` list: chained streams,
  windows, snapshots and the acknowledgements that keep checkpoints honest.
"""

from __future__ import annotations

from logtide.agent.core.errors import Location
from logtide.streamsql.processor import StreamProcessor, StreamTask
from logtide.streamsql.query import Query, compile_query

__all__ = ["Query", "StreamProcessor", "StreamTask", "compile"]


def compile(sql: str, location: Location | None = None) -> Query:
    """Parse, check and compile one statement; raise ``QueryError`` (with a caret) if bad."""
    return compile_query(sql, location)
