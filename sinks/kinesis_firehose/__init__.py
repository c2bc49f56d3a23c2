"""Amazon Kinesis Data Firehose output (Fluent Bit's ``kinesis_firehose``)."""

from logtide.sinks.kinesis_firehose.output import KinesisFirehoseOutput

__all__ = ["KinesisFirehoseOutput"]
