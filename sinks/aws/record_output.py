"""What the two Kinesis outputs share: the per-record options (``time_key``, ``log_key``,
``compression``, ``auto_retry_requests``, ``simple_aggregation``), their settings, and an
output base that opens one client of its service with the record compressor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from logtide.agent.core.errors import ConfigError, PermanentDeliveryError
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import OutputPlugin
from logtide.sinks.aws.client import AwsClients, AwsSettings
from logtide.sinks.aws.compression import CODECS, Compressor, compressor
from logtide.sinks.aws.records import RecordBuilder
from logtide.sinks.aws.retry import AUTO_RETRY_OPTION

DEFAULT_TIME_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"


def record_options(aggregated_into: str) -> tuple[Option, ...]:
    """The per-record options; ``aggregated_into`` says what ``simple_aggregation`` fills."""
    return (
        Option("time_key", "str", None, "Add the record time to each record under this key."),
        Option(
            "time_key_format",
            "str",
            DEFAULT_TIME_KEY_FORMAT,
            "strftime format for time_key; %3N = milliseconds, %9N or %L = nanoseconds.",
        ),
        Option("log_key", "str", None, "Send only the value of this key instead of the record."),
        Option(
            "compression",
            "str",
            None,
            "Compress each record: gzip, zstd or snappy (zstd/snappy need the cramjam package).",
        ),
        AUTO_RETRY_OPTION,
        Option(
            "simple_aggregation",
            "bool",
            False,
            f"Pack many newline-terminated records into each {aggregated_into}.",
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSettings(AwsSettings):
    """The fields of :func:`record_options`."""

    time_key: str | None
    time_key_format: str
    log_key: str | None
    compression: str | None
    auto_retry_requests: bool
    simple_aggregation: bool

    def __post_init__(self) -> None:
        AwsSettings.__post_init__(self)
        if self.compression is not None and self.compression not in CODECS:
            raise ConfigError(
                f"{self.name}: unknown compression {self.compression!r} (use {', '.join(CODECS)})",
                self.where("compression"),
            )


RS = TypeVar("RS", bound=RecordSettings)


class RecordOutput(OutputPlugin[RS]):
    """Opens one client of :attr:`service` on start and closes it on stop; builds records
    with the configured ``time_key``/``log_key`` and compresses them when asked."""

    service: ClassVar[str]

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        config = self.config
        self._auto_retry = config.auto_retry_requests
        self._aggregate = config.simple_aggregation
        self._builder = RecordBuilder(config.log_key, config.time_key, config.time_key_format)
        self._compress: Compressor | None = None
        self._clients: AwsClients | None = None
        self._client: Any = None

    async def start(self) -> None:
        codec = self.config.compression
        if codec:
            try:
                self._compress = compressor(codec)
            except ImportError:
                raise PermanentDeliveryError(
                    f"{self.location}: {self.name} compression '{codec}' needs the cramjam package"
                ) from None
        self._clients = AwsClients(self.config)
        self._client = await self._clients.client(self.service)

    async def stop(self) -> None:
        if self._clients is not None:
            await self._clients.close()
            self._clients = None

    def started_client(self) -> Any:
        if self._client is None:
            raise PermanentDeliveryError(f"{self.name} output used before start()")
        return self._client

    def _count(self, counter: str, value: int) -> None:
        if value:
            self.context.metrics.add(self.context.instance, counter, value)
