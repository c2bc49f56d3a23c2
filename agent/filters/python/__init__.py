"""``python`` filter: run a user's Python callable over records, as Fluent Bit's ``lua``
filter runs a Lua function (a logtide addition; no peer has it).

``Path`` (a file, relative to the config file's folder) or ``Module`` (importable from the
Python path) holds the callable ``Call`` names. Per record it is called
``call(tag, timestamp, record)`` and returns ``(code, timestamp, record)`` with Fluent Bit's
lua codes; with ``Batch On`` it is called once per chunk, ``call(tag, events)``, and
returns the events to keep (see :mod:`.contract`). A callable that raises or returns
garbage leaves the record (or the whole batch) as it was handed in: counted in
``callback_errors`` and logged at most once per :data:`LOG_INTERVAL`. Dropped and split
records need no bookkeeping: the chunk's acknowledgement covers what the filter returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.python.contract import Garbage, batch_result, record_result
from logtide.agent.filters.python.source import Source, check, load, source_for

#: Seconds between two error lines of one filter instance; the counter counts every error.
LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonFilterSettings(FilterSettings):
    path: str | None
    module: str | None
    call: str
    batch: bool


class PythonFilter(FilterPlugin[PythonFilterSettings]):
    name: ClassVar[str] = "python"
    description: ClassVar[str] = "Run a Python function over records (logtide's native lua)."
    options = (
        *COMMON_FILTER_OPTIONS,
        Option("Path", description="Python file holding Call (relative to the config file)."),
        Option("Module", description="Importable module holding Call, instead of Path."),
        Option(
            "Call",
            required=True,
            description="Function name: call(tag, timestamp, record) -> (code, timestamp, "
            "record); with Batch, call(tag, events) -> events.",
        ),
        Option(
            "Batch",
            "bool",
            False,
            "Call once per chunk with a list of (timestamp, record) pairs.",
        ),
    )

    @classmethod
    def validate(cls, settings: Settings) -> PythonFilterSettings:
        config = super().validate(settings)
        check(_source(config))
        return config

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.source = _source(self.config)
        self.function = load(self.source, context.instance)
        self._errors_unlogged = 0
        self._last_log = -LOG_INTERVAL

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        if self.config.batch:
            return self._batch(tag, events)
        function = self.function
        out: list[Event] = []
        errors = 0
        last: Exception | None = None
        for event in events:
            try:
                record_result(event, function(tag, event[0], event[1]), out)
            except Exception as exc:
                errors += 1
                out.append(event)
                last = exc
        if last is not None:
            self._failed(tag, errors, last)
        return out

    def _batch(self, tag: str, events: list[Event]) -> list[Event]:
        try:
            # A copy: a callable that edits the list and then raises leaves the chunk whole.
            return batch_result(self.function(tag, list(events)))
        except Exception as exc:
            self._failed(tag, 1, exc)
            return events

    def _failed(self, tag: str, count: int, exc: Exception) -> None:
        self.context.metrics.add(self.context.instance, "callback_errors", count)
        self._errors_unlogged += count
        now = time.monotonic()
        if now - self._last_log < LOG_INTERVAL:
            return
        what = "returned garbage" if isinstance(exc, Garbage) else f"raised {type(exc).__name__}"
        unit = "batches" if self.config.batch else "records"
        self.context.logger.error(
            "'%s' %s on tag %s: %s (%d %s passed unchanged since the last report)",
            self.source.call,
            what,
            tag,
            exc,
            self._errors_unlogged,
            unit,
        )
        self._errors_unlogged = 0
        self._last_log = now


def _source(config: PythonFilterSettings) -> Source:
    return source_for(
        config.path,
        config.module,
        config.call,
        config.batch,
        config.where("path" if config.path is not None else "module"),
        config.where("call"),
    )


__all__ = ["PythonFilter", "PythonFilterSettings"]
