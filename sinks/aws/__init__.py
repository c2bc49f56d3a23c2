"""What every AWS output shares: option table, one aiobotocore session, endpoints, and the
retry classification of AWS errors (registered with the core on import)."""

from logtide.sinks.aws.client import AWS_OPTIONS, AwsClients, AwsSettings
from logtide.sinks.aws.errors import RETRYABLE_CODES

__all__ = ["AWS_OPTIONS", "RETRYABLE_CODES", "AwsClients", "AwsSettings"]
