"""What every AWS output shares: option table, one botocore session and the thread its
calls run on, endpoints (and ``port``), the record builder of the Kinesis outputs,
per-record compression, the ``auto_retry_requests`` retry, and the retry classification of
AWS errors (registered with the core on import)."""

from logtide.sinks.aws.client import AWS_OPTIONS, AwsClients, AwsSettings
from logtide.sinks.aws.errors import RETRYABLE_CODES

__all__ = ["AWS_OPTIONS", "RETRYABLE_CODES", "AwsClients", "AwsSettings"]
