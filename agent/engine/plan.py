"""Planning: a loaded :class:`ConfigDocument` -> the :class:`Plan` the engine runs, no I/O.

:func:`build_plan` validates every section (through :mod:`logtide.agent.config.validate`), builds
the parser and multiline registries, checks every parser name a section refers to, picks
the checkpoint DB outputs keep their state beside and compiles the stream tasks.
``--dry-run`` stops after it; the engine then builds each plugin with the
:class:`PluginContext` :func:`plugin_context` gives it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logtide.agent.config.model import ConfigDocument, Section
from logtide.agent.config.service import ServiceSettings
from logtide.agent.config.validate import (
    PluginSpec,
    StreamTaskSpec,
    check_unique_aliases,
    filter_spec,
    input_spec,
    output_spec,
    service_settings,
    stream_task,
)
from logtide.agent.core.common_options import FilterSettings, InputSettings, OutputSettings
from logtide.agent.core.emitter import Emitter
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.plugins import InputPlugin, PluginContext, Spawn
from logtide.agent.core.tags import matcher
from logtide.agent.parsers.base import ParserSection
from logtide.agent.parsers.multiline import MultilineRegistry
from logtide.agent.parsers.registry import ParserRegistry

if TYPE_CHECKING:
    from logtide.streamsql import StreamProcessor


@dataclass(slots=True)
class Plan:
    """Everything the engine needs, validated and built."""

    service: ServiceSettings
    parsers: ParserRegistry
    multiline_parsers: MultilineRegistry
    inputs: list[PluginSpec[InputSettings]] = field(default_factory=list)
    filters: list[PluginSpec[FilterSettings]] = field(default_factory=list)
    outputs: list[PluginSpec[OutputSettings]] = field(default_factory=list)
    # The DB of the first input that keeps one (see PluginContext.checkpoint_db).
    checkpoint_db: str | None = None
    stream_processor: StreamProcessor | None = None
    files: list[str] = field(default_factory=list)

    @property
    def specs(self) -> list[PluginSpec[Any]]:
        """Every plugin instance: inputs, then filters, then outputs."""
        return [*self.inputs, *self.filters, *self.outputs]

    def unmatched(self) -> list[PluginSpec[Any]]:
        """Filters and outputs with neither Match nor Match_Regex: they take no record."""
        taking: list[PluginSpec[Any]] = [*self.filters, *self.outputs]
        return [s for s in taking if s.config.match is None and s.config.match_regex is None]


def build_plan(document: ConfigDocument) -> Plan:
    """Validate ``document`` and build what the run needs; raise :class:`ConfigError` with
    file:line on the first problem, in file order."""
    plan = Plan(
        service=service_settings(document),
        parsers=ParserRegistry.from_sections(_parser_sections(document.parsers)),
        multiline_parsers=MultilineRegistry.from_sections(
            _parser_sections(document.multiline_parsers)
        ),
        files=document.files,
    )
    counters: Counter[str] = Counter()
    for section in document.inputs:
        plan.inputs.append(input_spec(section, counters))
        _check_references(plan.inputs[-1], section, plan)
        _check_storage(plan.inputs[-1], section, plan.service)
    for section in document.filters:
        plan.filters.append(filter_spec(section, counters))
        _check_references(plan.filters[-1], section, plan)
    for section in document.outputs:
        plan.outputs.append(output_spec(section, counters))
        _check_references(plan.outputs[-1], section, plan)
    check_unique_aliases(plan.specs)
    plan.checkpoint_db = _checkpoint_db(plan.inputs)
    if document.stream_tasks:
        names = [spec.instance for spec in plan.inputs]
        matchers = [matcher(spec.config) for spec in plan.filters]
        plan.stream_processor = _stream_processor(
            [stream_task(section) for section in document.stream_tasks],
            names,
            lambda tag: any(m(tag) for m in matchers),
        )
    return plan


def plugin_context(
    plan: Plan,
    spec: PluginSpec[Any],
    *,
    spawn: Spawn,
    metrics: Metrics,
    once: bool,
    cut_points: Mapping[str, Sequence[int]],
    emitter: Emitter | None = None,
) -> PluginContext:
    """What the plugin of ``spec`` gets: the plan's shared pieces and the engine's own."""
    return PluginContext(
        instance=spec.instance,
        spawn=spawn,
        metrics=metrics,
        logger=logging.getLogger(f"logtide.{spec.kind}.{spec.instance}"),
        once=once,
        flush_interval=plan.service.flush,
        parsers=plan.parsers,
        multiline_parsers=plan.multiline_parsers,
        checkpoint_db=plan.checkpoint_db,
        config=spec.config,
        cut_points=cut_points,
        emitter=emitter,
    )


def cut_points(watermarks: Iterable[Mapping[str, int]]) -> dict[str, list[int]]:
    """Per source, the offsets where some output's watermark ends: an input reading that
    source again ends a chunk there, so each re-read chunk is wholly held or not."""
    cuts: dict[str, set[int]] = {}
    for marks in watermarks:
        for mark, end in marks.items():
            cuts.setdefault(mark.split("|", 1)[0], set()).add(end)
    return {source: sorted(ends) for source, ends in cuts.items()}


def _parser_sections(sections: list[Section]) -> Iterable[ParserSection]:
    # A generator: each section is built before the next is read, so the first bad one in
    # file order is the one reported.
    return (ParserSection(section.location, tuple(section.entries)) for section in sections)


def _checkpoint_db(inputs: Iterable[PluginSpec[InputSettings]]) -> str | None:
    for spec in inputs:
        assert issubclass(spec.cls, InputPlugin)
        db = spec.cls.checkpoint_db(spec.config)
        if db:
            return db
    return None


def _check_storage(
    spec: PluginSpec[InputSettings], section: Section, service: ServiceSettings
) -> None:
    """``storage.type filesystem`` needs ``[SERVICE] storage.path``: Fluent Bit refuses to
    start without it, and running from memory instead would quietly survive less. An input
    that sets none takes ``[SERVICE] storage.type`` under ``storage.inherit On``."""
    entry = section.first("storage.type")
    inherited = entry is None and service.storage_inherit
    storage_type = service.storage_type if inherited else spec.config.storage_type
    if storage_type == "filesystem" and not service.storage_path:
        # Without an entry of its own the input can only have inherited filesystem.
        where = entry.location if entry is not None else service.where("storage_type")
        raise ConfigError(
            f"{spec.label}: storage.type filesystem{' (storage.inherit)' if inherited else ''}"
            " needs [SERVICE] storage.path (or -b PATH), as Fluent Bit does",
            where,
        )


def _check_references(spec: PluginSpec[Any], section: Section, plan: Plan) -> None:
    """Every parser a section names exists (the run would fail on it, after starting)."""
    options = {option.key: option for option in spec.cls.options if option.refers}
    for entry in section.entries:
        option = options.get(entry.key.lower())
        if option is None:
            continue
        parsed = option.parse(entry.value)
        names = [name.strip() for name in (parsed if isinstance(parsed, list) else [parsed])]
        names = [name for name in names if name]
        try:
            if option.refers == "multiline_parser" and names:
                plan.multiline_parsers.stream(names, plan.parsers, entry.location)
            else:
                for name in names:
                    plan.parsers.get(name, entry.location)
        except ConfigError as exc:
            label = f"{spec.kind} '{spec.cls.name}'"
            raise ConfigError(f"{label}: {option.name}: {exc.message}", exc.location) from None


def _stream_processor(
    tasks: list[StreamTaskSpec], inputs: list[str], filtered: Callable[[str], bool]
) -> StreamProcessor:
    from logtide.streamsql import StreamProcessor, StreamTask

    # Outputs never change records, so only filters decide whether results must be copies.
    return StreamProcessor(
        [StreamTask(task.name, task.sql, task.location) for task in tasks],
        inputs=inputs,
        filtered=filtered,
    )
