"""Amazon CloudWatch Logs output (Fluent Bit's ``cloudwatch_logs``)."""

from logtide.sinks.cloudwatch_logs.output import CloudWatchLogsOutput

__all__ = ["CloudWatchLogsOutput"]
