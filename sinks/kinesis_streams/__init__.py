"""Amazon Kinesis Data Streams output (Fluent Bit's ``kinesis_streams``)."""

from logtide.sinks.kinesis_streams.output import KinesisStreamsOutput

__all__ = ["KinesisStreamsOutput"]
