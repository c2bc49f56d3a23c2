"""Validation of one section at a time: each is resolved against its option table, no I/O.

The engine's planner (:func:`agent.engine.plan.build_plan`) calls these in file order and
builds the rest of the plan from what they return (parser registries, the checks of the
parser names sections refer to, the stream processor).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from agent.config.model import ConfigDocument, Section
from agent.config.service import SERVICE_OPTIONS, ServiceSettings
from agent.core.errors import ConfigError, Location
from agent.core.options import Option, Settings, resolve
from agent.core.plugins import Kind, Plugin, load_plugin
from agent.core.retry import parse_retry_limit

STREAM_TASK_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Name of the stream task."),
    Option("Exec", required=True, description="The CREATE STREAM/SNAPSHOT statement to run."),
)


@dataclass(slots=True)
class PluginSpec:
    """A validated plugin instance: its class, typed settings and instance name."""

    kind: Kind
    cls: type[Plugin]
    settings: Settings
    instance: str

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.instance}'"


@dataclass(frozen=True, slots=True)
class StreamTaskSpec:
    """A validated ``[STREAM_TASK]``: its statement is compiled by the planner."""

    name: str
    sql: str
    location: Location  # of ``Exec``, where a statement's errors point


def service_settings(document: ConfigDocument) -> ServiceSettings:
    service = document.service
    return ServiceSettings.bind(
        resolve("[SERVICE]", SERVICE_OPTIONS, service.entries, service.location)
    )


def plugin_spec(kind: Kind, section: Section, counters: Counter[str]) -> PluginSpec:
    """Resolve one ``[INPUT]``/``[FILTER]``/``[OUTPUT]``; ``counters`` numbers instances."""
    name = section.name
    name_entry = section.first("name")
    cls = load_plugin(kind, name, name_entry.location if name_entry else section.location)
    # Numbered per plugin name across kinds, so the lib input and lib output (the one name
    # that is both) get distinct instance names: metrics are keyed by instance name.
    index = counters[cls.name]
    counters[cls.name] += 1
    default_instance = f"{cls.name}.{index}"
    settings = resolve(f"{kind} '{cls.name}'", cls.options, section.entries, section.location)
    _check_match(kind, settings)
    if kind == "output":
        parse_retry_limit(settings["retry_limit"], settings.location)
    cls.validate(settings)
    instance = settings.get("alias") or default_instance
    return PluginSpec(kind, cls, settings, instance)


def stream_task(section: Section) -> StreamTaskSpec:
    settings = resolve("[STREAM_TASK]", STREAM_TASK_OPTIONS, section.entries, section.location)
    exec_entry = section.first("exec")
    location = exec_entry.location if exec_entry else section.location
    return StreamTaskSpec(settings["name"], settings["exec"], location)


def check_unique_aliases(specs: Iterable[PluginSpec]) -> None:
    seen: dict[str, PluginSpec] = {}
    for spec in specs:
        previous = seen.get(spec.instance)
        if previous is not None:
            raise ConfigError(
                f"alias '{spec.instance}' is used twice (also at {previous.settings.location})",
                spec.settings.location,
            )
        seen[spec.instance] = spec


def _check_match(kind: Kind, settings: Settings) -> None:
    if kind == "input":
        return
    pattern = settings.get("match_regex")
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{kind}: Match_Regex {pattern!r} is not a valid regex: {exc}", settings.location
        ) from None
