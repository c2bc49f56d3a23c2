"""Validation of one section at a time: each is resolved against its option table, no I/O.

The engine's planner (:func:`logtide.agent.engine.plan.build_plan`) calls these in file order and
builds the rest of the plan from what they return (parser registries, the checks of the
parser names sections refer to, the stream processor).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from logtide.agent.config.model import ConfigDocument, Section
from logtide.agent.config.service import SERVICE_OPTIONS, ServiceSettings
from logtide.agent.core.common_options import FilterSettings, InputSettings, OutputSettings
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import BoundSettings, Option, Settings, resolve
from logtide.agent.core.plugins import Kind, Plugin, load_plugin

STREAM_TASK_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Name of the stream task."),
    Option(
        "Exec",
        required=True,
        description="The CREATE STREAM/SNAPSHOT statement to run.",
        field="sql",
    ),
)

S = TypeVar("S", bound=BoundSettings)
# The common settings of one kind: every plugin's settings class extends one.
K = TypeVar("K", InputSettings, FilterSettings, OutputSettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamTaskSettings(BoundSettings):
    """The fields of :data:`STREAM_TASK_OPTIONS`."""

    name: str
    sql: str


@dataclass(slots=True)
class PluginSpec(Generic[S]):
    """A validated plugin instance: its class, resolved settings, instance name, and the
    settings bound once by its class (``config``: the engine and planner read its common
    fields; ``settings`` keeps what only the resolved form holds, for the plugin)."""

    kind: Kind
    cls: type[Plugin[Any]]
    settings: Settings
    instance: str
    config: S

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


def input_spec(section: Section, counters: Counter[str]) -> PluginSpec[InputSettings]:
    return _plugin_spec("input", section, counters, InputSettings)


def filter_spec(section: Section, counters: Counter[str]) -> PluginSpec[FilterSettings]:
    return _plugin_spec("filter", section, counters, FilterSettings)


def output_spec(section: Section, counters: Counter[str]) -> PluginSpec[OutputSettings]:
    return _plugin_spec("output", section, counters, OutputSettings)


def _plugin_spec(
    kind: Kind, section: Section, counters: Counter[str], common: type[K]
) -> PluginSpec[K]:
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
    config = cls.validate(settings)
    if not isinstance(config, common):
        # A plugin class of another kind registered here: a bug, not a config error.
        raise TypeError(f"{cls.__qualname__} binds {type(config).__name__}, not a {kind}")
    return PluginSpec(kind, cls, settings, config.alias or default_instance, config)


def stream_task(section: Section) -> StreamTaskSpec:
    config = StreamTaskSettings.bind(
        resolve("[STREAM_TASK]", STREAM_TASK_OPTIONS, section.entries, section.location)
    )
    exec_entry = section.first("exec")
    location = exec_entry.location if exec_entry else section.location
    return StreamTaskSpec(config.name, config.sql, location)


def check_unique_aliases(specs: Iterable[PluginSpec[Any]]) -> None:
    seen: dict[str, PluginSpec[Any]] = {}
    for spec in specs:
        previous = seen.get(spec.instance)
        if previous is not None:
            raise ConfigError(
                f"alias '{spec.instance}' is used twice (also at {previous.settings.location})",
                spec.settings.location,
            )
        seen[spec.instance] = spec
