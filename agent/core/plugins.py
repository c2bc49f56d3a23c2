"""Plugin base classes, the context the engine hands them, and the lazy plugin registry.

A plugin is built in two steps: :meth:`Plugin.validate` checks settings without any I/O
(what ``--dry-run`` runs), then the engine constructs it and awaits :meth:`start`. Plugins
are looked up by name through :data:`REGISTRY`, which maps names to import paths so the
agent imports only the plugins a config uses.

A plugin names its typed settings class as the parameter of its base
(``class S3Output(OutputPlugin[S3Settings])``; a plugin that names none gets its kind's
common class). :meth:`Plugin.validate` binds it once; the planner keeps that on the spec
(where the engine reads the common fields) and hands it to the plugin, as ``self.config``,
through its context. Defining the class checks that its option table and that class agree
(see :mod:`logtide.agent.core.options`).
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast, get_args

from logtide.agent.core.common_options import (
    COMMON_FILTER_OPTIONS,
    COMMON_INPUT_OPTIONS,
    COMMON_OUTPUT_OPTIONS,
    FilterSettings,
    InputSettings,
    OutputSettings,
)
from logtide.agent.core.emitter import Emitter
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.events import Chunk, Event
from logtide.agent.core.metrics import Metrics
from logtide.agent.core.options import (
    BoundSettings,
    Option,
    Settings,
    binding_problems,
    did_you_mean,
)

if TYPE_CHECKING:
    # Types only: at run time the core imports nothing else of the agent, so sinks and
    # streamsql, which may import only the core, never load the parsers through it.
    from logtide.agent.parsers.multiline.registry import MultilineRegistry
    from logtide.agent.parsers.registry import ParserRegistry

Kind = Literal["input", "filter", "output"]

C = TypeVar("C", bound=BoundSettings)
CI = TypeVar("CI", bound=InputSettings)
CF = TypeVar("CF", bound=FilterSettings)
CO = TypeVar("CO", bound=OutputSettings)

Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]
Emit = Callable[[Chunk], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PluginContext:
    """What the engine gives every plugin instance (built by ``logtide.agent.engine.plan``).

    ``spawn`` starts a background task owned by the engine's task group (cancelled, awaited
    and drained on stop); plugins never call ``asyncio.create_task`` themselves.
    ``once`` is true under ``--once``: inputs read to the end and return.
    ``parsers`` and ``multiline_parsers`` are the registries of the config's ``[PARSER]`` and
    ``[MULTILINE_PARSER]`` sections plus the built-ins (``None`` only for a plugin built
    outside an engine). ``checkpoint_db`` is the checkpoint file of the first input that
    keeps one (:meth:`InputPlugin.checkpoint_db`): outputs that keep delivery state across
    restarts default to a place next to it.
    ``config`` is the settings the planner bound for this instance, which the plugin takes
    as its own (``None`` for a plugin built outside an engine: it binds them itself).
    ``cut_points`` maps a source (the part of ``Chunk.mark`` before ``|``) to the sorted
    offsets where some output's watermark ends; the engine fills it once the outputs have
    started, before any input runs.
    ``emitter`` is the filter's way to put records into the pipeline's start
    (:mod:`logtide.agent.core.emitter`); the engine builds one for a filter whose settings
    extend ``EmitterFilterSettings`` (``None`` otherwise).
    """

    instance: str
    spawn: Spawn
    metrics: Metrics
    logger: logging.Logger
    once: bool = False
    flush_interval: float = 1.0
    parsers: ParserRegistry | None = None
    multiline_parsers: MultilineRegistry | None = None
    checkpoint_db: str | None = None
    config: BoundSettings | None = None
    cut_points: Mapping[str, Sequence[int]] = field(default_factory=dict)
    emitter: Emitter | None = None


class Plugin(ABC, Generic[C]):
    """Common face of inputs, filters and outputs.

    ``config`` is the settings bound to the class the plugin is parameterised with;
    ``settings`` stays for what only the resolved form holds (``ordered``, ``is_set``).
    """

    kind: ClassVar[Kind]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[Sequence[Option]] = ()
    #: The :class:`BoundSettings` subclass ``config`` is bound to.
    config_class: ClassVar[type[BoundSettings]]
    config: C

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            for argument in get_args(base):
                if isinstance(argument, type) and issubclass(argument, BoundSettings):
                    cls.config_class = argument
        problems = binding_problems(cls.options, cls.config_class)
        if problems:
            raise TypeError(f"{cls.__qualname__}: {'; '.join(problems)}")

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        self.settings = settings
        self.context = context
        bound = context.config
        self.config = cast(C, self.config_class.bind(settings) if bound is None else bound)

    @classmethod
    def validate(cls, settings: Settings) -> C:
        """The typed settings, after every check beyond the table, with no I/O (what
        ``--dry-run`` runs). Raise :class:`ConfigError`.

        Binding runs the settings class's own checks; plugins that check more call this too.
        """
        return cast(C, cls.config_class.bind(settings))

    @property
    def location(self) -> Location:
        return self.settings.location


class InputPlugin(Plugin[CI]):
    """Produces chunks. ``run`` returns when the input is exhausted (under ``--once``) or
    when cancelled. ``emit`` applies backpressure: it waits while the pipeline is full.

    ``ends_run`` inputs return from ``run`` on their own without ``--once`` (tail's
    ``Exit_On_Eof``): once every such input has, the engine drains and the process exits,
    as ``--once`` does."""

    kind: ClassVar[Kind] = "input"
    options: ClassVar[Sequence[Option]] = COMMON_INPUT_OPTIONS
    config_class: ClassVar[type[BoundSettings]] = InputSettings
    ends_run: bool = False

    @classmethod
    def checkpoint_db(cls, config: CI) -> str | None:
        """The file this input keeps its checkpoints in, if it keeps one: outputs that keep
        delivery state across restarts default to a place beside the first such file."""
        return None

    @abstractmethod
    async def run(self, emit: Emit) -> None: ...

    async def close(self) -> None:
        """Release files and databases after the pipeline has drained."""


class FilterPlugin(Plugin[CF]):
    """A small callable over one chunk's events; returns the events to keep.

    Dropping an event needs no bookkeeping: the chunk's acknowledgement covers it.
    """

    kind: ClassVar[Kind] = "filter"
    options: ClassVar[Sequence[Option]] = COMMON_FILTER_OPTIONS
    config_class: ClassVar[type[BoundSettings]] = FilterSettings

    async def start(self) -> None:
        """Optional warm-up I/O (e.g. a metadata cache); failures are logged, not fatal."""

    async def stop(self) -> None:
        """Put out what the filter still holds (the run is ending), before outputs drain."""

    @abstractmethod
    def __call__(self, tag: str, events: list[Event]) -> list[Event]: ...


class OutputPlugin(Plugin[CO]):
    """Accepts batches of events for one tag.

    ``flush`` returns once the events are durable (in a remote API, or fsynced to the output's
    own disk buffer) and raises a :class:`~logtide.agent.core.errors.DeliveryError` otherwise.
    ``stop`` is awaited on shutdown after the last flush, to finish uploads in flight.
    """

    kind: ClassVar[Kind] = "output"
    options: ClassVar[Sequence[Option]] = COMMON_OUTPUT_OPTIONS
    config_class: ClassVar[type[BoundSettings]] = OutputSettings
    #: True when ``flush`` returning means the records are already safe on local disk (or
    #: need no delivery at all); the engine then puts no ``storage.path`` queue in front.
    durable_on_accept: ClassVar[bool] = False

    async def start(self) -> None:
        """Open clients and recover leftover buffers."""

    @abstractmethod
    async def flush(self, tag: str, events: list[Event]) -> None: ...

    async def flush_marked(
        self, tag: str, events: list[Event], marks: Sequence[tuple[str, int]]
    ) -> None:
        """``flush``, for outputs that also record ``marks`` (``(Chunk.mark, origin end)``
        pairs) atomically with the events, so that after a crash :meth:`watermarks` tells the
        engine which re-read chunks they already hold. Others ignore the marks."""
        await self.flush(tag, events)

    def watermarks(self) -> dict[str, int]:
        """Per ``Chunk.mark``, the origin end up to which this output holds the events
        (read after :meth:`start`). Empty for outputs without exactly-once delivery."""
        return {}

    async def stop(self) -> None:
        """Deliver what is buffered (within the grace period) and close clients."""


REGISTRY: dict[Kind, dict[str, str]] = {
    "input": {
        "dummy": "logtide.agent.inputs.dummy:DummyInput",
        "tail": "logtide.agent.inputs.tail:TailInput",
        "lib": "logtide.agent.inputs.lib:LibInput",
        "systemd": "logtide.agent.inputs.systemd:SystemdInput",
        "forward": "logtide.agent.inputs.forward:ForwardInput",
    },
    "filter": {
        "parser": "logtide.agent.filters.parser:ParserFilter",
        "grep": "logtide.agent.filters.grep:GrepFilter",
        "modify": "logtide.agent.filters.modify:ModifyFilter",
        "record_modifier": "logtide.agent.filters.record_modifier:RecordModifierFilter",
        "nest": "logtide.agent.filters.nest:NestFilter",
        "kubernetes": "logtide.agent.filters.kubernetes:KubernetesFilter",
        "aws": "logtide.agent.filters.aws:AwsFilter",
        "python": "logtide.agent.filters.python:PythonFilter",
        "lua": "logtide.agent.filters.lua:LuaFilter",
        "rewrite_tag": "logtide.agent.filters.rewrite_tag:RewriteTagFilter",
        "multiline": "logtide.agent.filters.multiline:MultilineFilter",
    },
    "output": {
        "stdout": "logtide.sinks.stdout:StdoutOutput",
        "file": "logtide.sinks.file:FileOutput",
        "null": "logtide.sinks.null:NullOutput",
        "lib": "logtide.sinks.lib:LibOutput",
        "s3": "logtide.sinks.s3:S3Output",
        "cloudwatch_logs": "logtide.sinks.cloudwatch_logs:CloudWatchLogsOutput",
        "kinesis_firehose": "logtide.sinks.kinesis_firehose:KinesisFirehoseOutput",
        "opensearch": "logtide.sinks.opensearch:OpenSearchOutput",
        "es": "logtide.sinks.opensearch:ElasticsearchOutput",
        "http": "logtide.sinks.http.output:HttpOutput",
        "kinesis_streams": "logtide.sinks.kinesis_streams:KinesisStreamsOutput",
        "forward": "logtide.sinks.forward:ForwardOutput",
    },
}


def plugin_names(kind: Kind) -> list[str]:
    return sorted(REGISTRY[kind])


def load_plugin(kind: Kind, name: str, location: Location | None = None) -> type[Plugin]:
    """Import the plugin class registered for ``name`` (case-insensitive)."""
    target = REGISTRY[kind].get(name.lower())
    if target is None:
        raise ConfigError(
            f"unknown {kind} plugin '{name}'{did_you_mean(name, REGISTRY[kind])}; "
            f"available: {', '.join(plugin_names(kind))}",
            location,
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise ConfigError(
                f"{kind} plugin '{name}' is not available in this build of logtide yet",
                location,
            ) from None
        raise
    plugin: type[Plugin] | None = getattr(module, class_name, None)
    if plugin is None:
        raise ConfigError(f"{kind} plugin '{name}' is not available in this build yet", location)
    return plugin
