"""The ``s3`` output: durable store_dir buffers, deterministic keys, PutObject/multipart."""

from logtide.sinks.s3.output import S3Output

__all__ = ["S3Output"]
