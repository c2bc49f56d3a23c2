"""What every AWS output shares: option table, one aiobotocore session, endpoints."""

from sinks.aws.client import AWS_OPTIONS, AwsClients, AwsSettings

__all__ = ["AWS_OPTIONS", "AwsClients", "AwsSettings"]
