"""The kinesis_firehose option table (Fluent Bit's names and defaults) and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.sinks.aws import AWS_OPTIONS, AwsSettings
from logtide.sinks.aws.compression import CODECS
from logtide.sinks.aws.retry import AUTO_RETRY_OPTION

DEFAULT_TIME_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"

FIREHOSE_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *AWS_OPTIONS,
    Option("delivery_stream", "str", None, "Firehose delivery stream name.", required=True),
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
        "Pack many newline-terminated records into each Firehose record (up to 1,000 KiB).",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FirehoseSettings(AwsSettings):
    delivery_stream: str
    time_key: str | None
    time_key_format: str
    log_key: str | None
    compression: str | None
    auto_retry_requests: bool
    simple_aggregation: bool

    def __post_init__(self) -> None:
        AwsSettings.__post_init__(self)
        compression = self.compression
        if compression is None:
            return
        if compression == "arrow":
            raise ConfigError(
                "kinesis_firehose: compression 'arrow' is not supported by logtide "
                f"(use {', '.join(CODECS)})",
                self.location,
            )
        if compression not in CODECS:
            raise ConfigError(
                f"kinesis_firehose: unknown compression {compression!r} (use {', '.join(CODECS)})",
                self.location,
            )
