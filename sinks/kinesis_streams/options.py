"""The kinesis_streams option table (Fluent Bit 5.1.1's names and defaults, plus
``partition_key``) and its settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.sinks.aws import AWS_OPTIONS
from logtide.sinks.aws.record_output import RecordSettings, record_options

KINESIS_STREAMS_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *AWS_OPTIONS,
    Option("stream", "str", None, "Kinesis data stream name.", required=True),
    Option(
        "partition_key",
        "str",
        None,
        "Record accessor ($key, $a['b']) whose value is each record's partition key; "
        "a random key when unset or when the record lacks it (logtide only).",
    ),
    *record_options("Kinesis record (up to 1 MiB)"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KinesisStreamsSettings(RecordSettings):
    stream: str
    partition_key: str | None
    #: ``partition_key`` parsed once, so a bad accessor fails ``--dry-run``.
    partition_accessor: RecordAccessor | None = field(init=False)

    def __post_init__(self) -> None:
        RecordSettings.__post_init__(self)
        accessor = None
        if self.partition_key is not None:
            try:
                accessor = RecordAccessor(self.partition_key.strip(), self.where("partition_key"))
            except ConfigError as exc:
                raise ConfigError(
                    f"kinesis_streams: partition_key: {exc.message}", self.where("partition_key")
                ) from None
        self._derive("partition_accessor", accessor)
        if self.log_key is not None and self.time_key is not None:
            # Fluent Bit refuses the pair at start-up: a log_key value is no map to add to.
            raise ConfigError(
                "kinesis_streams: 'time_key' and 'log_key' can not be used together",
                self.location,
            )
