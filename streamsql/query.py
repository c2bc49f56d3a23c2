"""``streamsql.compile(sql) -> Query``: one statement, parsed, checked and compiled once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from logtide.agent.core.errors import Location, QueryError
from logtide.agent.core.tags import tag_matches
from logtide.streamsql.aggregate import Aggregator, Group
from logtide.streamsql.codegen import Event, Projector, Source, predicate, projector
from logtide.streamsql.dialect import parse
from logtide.streamsql.lexer import SyntaxProblem
from logtide.streamsql.plan import Statement, plan


def caret_message(sql: str, problem: SyntaxProblem, prefix: str = "") -> str:
    """The problem, then the query line it is on and a caret under the position."""
    offset = max(0, min(problem.offset, len(sql)))
    line_start = sql.rfind("\n", 0, offset) + 1
    line_end = sql.find("\n", offset)
    line = sql[line_start : line_end if line_end >= 0 else len(sql)]
    column = offset - line_start
    pointer = "".join(c if c == "\t" else " " for c in line[:column]) + "^"
    return f"{prefix}{problem.message}\n    {line}\n    {pointer}"


class Query:
    """A compiled statement. ``process`` evaluates one batch of events on its own.

    Windows, snapshots and acknowledgements are the :class:`StreamProcessor`'s business; on a
    bare ``Query`` an aggregate treats the batch it is given as one window, and snapshot
    statements return nothing.
    """

    def __init__(self, sql: str, statement: Statement, share_records: bool = False) -> None:
        self.sql = sql
        self.statement = statement
        self._matched: dict[str, bool] = {}
        src = Source()
        self.where = predicate(statement.where, src)
        self.aggregator: Aggregator | None = None
        self._project: Projector | None = None
        if statement.aggregate:
            self.aggregator = Aggregator(statement, self.where)
        else:
            self._project = projector(statement.where, statement.keys, src, share_records)

    @property
    def name(self) -> str:
        return self.statement.stream_name

    def matches(self, tag: str) -> bool:
        """True if this query reads records with ``tag`` (``FROM TAG:'pattern'``)."""
        # Asked for every chunk, of a handful of distinct tags: remembered per tag.
        found = self._matched.get(tag)
        if found is None:
            found = self.statement.source_kind == "tag" and tag_matches(self.statement.source, tag)
            if len(self._matched) < 4096:
                self._matched[tag] = found
        return found

    def reads_stream(self, source: str) -> bool:
        """True if this query reads ``FROM STREAM:<source>`` (case-insensitive, like Fluent Bit)."""
        return self.statement.source_kind == "stream" and (
            self.statement.source.lower() == source.lower()
        )

    def select(self, tag: str, events: list[Event]) -> list[Event]:
        """Records that pass WHERE, projected on the SELECT list (non-aggregate queries)."""
        assert self._project is not None, "select() is for non-aggregate queries"
        return self._project(events, tag)

    def process(self, tag: str, events: list[Event], now: float | None = None) -> list[Event]:
        statement = self.statement
        if statement.kind in ("snapshot", "flush"):
            return []
        if self.aggregator is not None:
            groups: dict[tuple[Any, ...], Group] = {}
            if not self.aggregator.fold(groups, self.aggregator.extract(tag, events)):
                return []
            return self.aggregator.package(groups, tag, time.time() if now is None else now)
        return self.select(tag, events)


def compile_query(
    sql: str,
    location: Location | None = None,
    task: str = "",
    filtered: Callable[[str], bool] | None = None,
) -> Query:
    """Parse, check and compile ``sql``; raise :class:`QueryError` with a caret on failure.

    ``filtered(tag)``: whether a filter may change records of the result tag in place; when
    it is given and says no, ``SELECT *`` results share the source's records (no copy).
    """
    try:
        statement = plan(parse(sql))
        return Query(sql, statement, filtered is not None and not filtered(statement.tag))
    except SyntaxProblem as problem:
        prefix = f"stream task '{task}': " if task else ""
        raise QueryError(caret_message(sql, problem, prefix), location) from None
