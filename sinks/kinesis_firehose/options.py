"""The kinesis_firehose option table (Fluent Bit's names and defaults) and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.sinks.aws import AWS_OPTIONS
from logtide.sinks.aws.compression import CODECS
from logtide.sinks.aws.record_output import RecordSettings, record_options

FIREHOSE_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *AWS_OPTIONS,
    Option("delivery_stream", "str", None, "Firehose delivery stream name.", required=True),
    *record_options("Firehose record (up to 1,000 KiB)"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FirehoseSettings(RecordSettings):
    delivery_stream: str

    def __post_init__(self) -> None:
        if self.compression == "arrow":
            raise ConfigError(
                "kinesis_firehose: compression 'arrow' is not supported by logtide "
                f"(use {', '.join(CODECS)})",
                self.where("compression"),
            )
        RecordSettings.__post_init__(self)
