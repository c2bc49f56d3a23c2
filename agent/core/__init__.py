"""The contract every logtide package shares: events, chunks, acknowledgements, options,
plugins and errors. ``sinks`` and ``streamsql`` import only this package from ``agent``."""

from logtide.agent.core.errors import (
    ConfigError,
    DeliveryError,
    LogtideError,
    PermanentDeliveryError,
    PluginError,
    QueryError,
    RetryableDeliveryError,
    is_retryable,
)
from logtide.agent.core.events import Ack, Chunk, Event, Record
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, InputPlugin, OutputPlugin, PluginContext

__all__ = [
    "Ack",
    "Chunk",
    "ConfigError",
    "DeliveryError",
    "Event",
    "FilterPlugin",
    "InputPlugin",
    "LogtideError",
    "Option",
    "OutputPlugin",
    "PermanentDeliveryError",
    "PluginContext",
    "PluginError",
    "QueryError",
    "Record",
    "RetryableDeliveryError",
    "Settings",
    "is_retryable",
]
