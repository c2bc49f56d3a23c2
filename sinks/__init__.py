"""Outputs that ship to AWS (S3, CloudWatch Logs, Kinesis Firehose)."""
