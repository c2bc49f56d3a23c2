"""The s3 output's option table (Fluent Bit's names and defaults) and its settings.

Binding resolved settings to :class:`S3Settings` checks them across options (no I/O; what
``validate`` runs) and computes what the rest of the package uses (the parsed key format, the
effective upload mode), so nothing there re-parses strings.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from logtide.agent.core.common_options import COMMON_OUTPUT_OPTIONS
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Option, parse_bool
from logtide.sinks.aws.client import AWS_OPTIONS, AwsSettings
from logtide.sinks.s3.keys import KeyFormat, KeyFormatError

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 50 * MIB
MAX_PUT_OBJECT_SIZE = 50 * MIB
MAX_FILE_SIZE = 50 * 1024 * MIB

DateFormat = Literal["iso8601", "double", "epoch", "epoch_ms", "java_sql_timestamp"]
Compression = Literal["none", "gzip", "zstd", "snappy"]

S3_OPTIONS: tuple[Option, ...] = (
    *COMMON_OUTPUT_OPTIONS,
    *(option for option in AWS_OPTIONS if option.key != "region"),
    Option("region", "str", "us-east-1", "AWS region of the bucket.", nonempty=True),
    Option("bucket", "str", None, "S3 bucket name.", required=True),
    Option(
        "store_dir",
        "str",
        "/tmp/fluent-bit/s3",
        "Directory for the local buffer files; records are fsynced here before they are "
        "acknowledged, and stay until S3 confirmed the object.",
    ),
    Option(
        "store_dir_limit_size",
        "size",
        0,
        "Cap on buffered bytes in store_dir; when reached, new records wait for uploads "
        "(backpressure: one warning, the input pauses) instead of being dropped. "
        "0 = unlimited.",
    ),
    Option("total_file_size", "size", 100000000, "Size of the objects in S3 (1M..50G)."),
    Option(
        "upload_chunk_size",
        "size",
        MIN_PART_SIZE,
        "Multipart part size (5M..50M).",
    ),
    Option(
        "upload_timeout", "time", 600.0, "Upload a buffer at least this often, whatever its size."
    ),
    Option("use_put_object", "bool", False, "Use PutObject instead of multipart uploads."),
    Option(
        "s3_key_format",
        "str",
        "/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S",
        "Object key: strftime of the first record's time, $TAG, $TAG[n], $INDEX, $UUID, "
        "and record fields as ${field}, ${k['a']['b']} or $field.",
        keep_variables=True,
    ),
    Option(
        "s3_key_format_tag_delimiters",
        "str",
        ".",
        "Characters that split the tag into the parts $TAG[n] selects.",
    ),
    Option(
        "static_file_path",
        "bool",
        False,
        "Do not append '-object' plus 8 characters to keys without $UUID or $INDEX.",
    ),
    Option("json_date_key", "str", "date", "Name of the time key added first; false disables."),
    Option(
        "json_date_format",
        "enum",
        "iso8601",
        "Format of the time key.",
        choices=("iso8601", "double", "epoch", "epoch_ms", "java_sql_timestamp"),
    ),
    Option("log_key", "str", None, "Send only this key's value instead of the whole record."),
    Option(
        "compression",
        "str",
        None,
        "gzip or zstd (json_lines); snappy, gzip or zstd page codec with format parquet.",
    ),
    Option(
        "format",
        "enum",
        "json_lines",
        "Object format: json_lines, or parquet (needs pyarrow).",
        choices=("json_lines", "parquet"),
    ),
    Option("content_type", "str", None, "Content-Type of the objects."),
    Option("send_content_md5", "bool", False, "Send Content-MD5 with every upload."),
    Option(
        "canned_acl", "str", None, "Canned ACL of the objects (e.g. bucket-owner-full-control)."
    ),
    Option("storage_class", "str", None, "Storage class of the objects (default STANDARD)."),
    Option(
        "server_side_encryption",
        "enum",
        None,
        "Server-side encryption: AES256 or aws:kms.",
        choices=("AES256", "aws:kms"),
    ),
    Option("ssekms_key_id", "str", None, "KMS key for server_side_encryption aws:kms."),
    Option(
        "preserve_data_ordering",
        "bool",
        True,
        "Upload a tag's buffers in order: a failed buffer holds back later ones of its prefix.",
    ),
    Option("auto_retry_requests", "bool", True, "Accepted for compatibility."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Settings(AwsSettings):
    """The s3 output's settings, checked across options as Fluent Bit does at start-up.

    ``use_put_object`` is the effective mode: a ``total_file_size`` below two parts forces it
    on. The last four fields are computed from the options.
    """

    bucket: str
    store_dir: str
    store_dir_limit_size: int
    total_file_size: int
    upload_chunk_size: int
    upload_timeout: float
    use_put_object: bool
    s3_key_format: str
    s3_key_format_tag_delimiters: str
    static_file_path: bool
    json_date_key: str
    json_date_format: DateFormat
    log_key: str | None
    compression: str | None
    format: Literal["json_lines", "parquet"]
    content_type: str | None
    send_content_md5: bool
    canned_acl: str | None
    storage_class: str | None
    server_side_encryption: str | None
    ssekms_key_id: str | None
    preserve_data_ordering: bool
    auto_retry_requests: bool
    key_format: KeyFormat = field(init=False)
    #: ``json_date_key``, or ``None`` when it is a false boolean.
    date_key: str | None = field(init=False)
    #: ``compression`` checked against ``format``; ``none`` when unset.
    codec: Compression = field(init=False)
    retry_error_label: ClassVar[str] = "output 's3': "

    def __post_init__(self) -> None:
        AwsSettings.__post_init__(self)

        def fail(message: str, attribute: str | None = None) -> ConfigError:
            return ConfigError(f"output 's3': {message}", self.where(attribute))

        if not self.s3_key_format.startswith("/"):
            raise fail("s3_key_format must start with a '/'", "s3_key_format")
        try:
            self._derive(
                "key_format", KeyFormat(self.s3_key_format, self.s3_key_format_tag_delimiters)
            )
        except KeyFormatError as exc:
            raise fail(f"s3_key_format: {exc}", "s3_key_format") from None

        fmt = self.format
        if fmt == "parquet":
            if importlib.util.find_spec("pyarrow") is None:
                raise fail("format parquet needs pyarrow: pip install 'logtide[parquet]'", "format")
            if self.log_key:
                raise fail("log_key is not supported with format parquet")
        codec = _codec(self.compression, fmt, self.where("compression"))
        if codec == "zstd" and fmt == "json_lines" and not importlib.util.find_spec("cramjam"):
            raise fail("compression zstd needs the cramjam package", "compression")
        self._derive("codec", codec)

        total, part = self.total_file_size, self.upload_chunk_size
        if total < MIB or total > MAX_FILE_SIZE:
            raise fail("total_file_size must be between 1M and 50G", "total_file_size")
        if not self.use_put_object and total < 2 * MIN_PART_SIZE:
            # Fluent Bit does the same: a multipart upload needs two parts of at least 5 MiB.
            self._derive("use_put_object", True)
        if self.use_put_object:
            if total > MAX_PUT_OBJECT_SIZE:
                raise fail(
                    "total_file_size can be at most 50M with use_put_object", "total_file_size"
                )
        else:
            if part < MIN_PART_SIZE:
                raise fail(
                    "upload_chunk_size must be at least 5M (5,242,880 bytes)", "upload_chunk_size"
                )
            if part > MAX_PART_SIZE:
                raise fail("upload_chunk_size can be at most 50M", "upload_chunk_size")
            if part > total:
                raise fail("upload_chunk_size can not be larger than total_file_size")
            if part != MIN_PART_SIZE and 2 * part > total:
                raise fail("total_file_size must be at least twice upload_chunk_size")

        if self.ssekms_key_id and self.server_side_encryption != "aws:kms":
            raise fail("ssekms_key_id needs server_side_encryption aws:kms")
        if self.upload_timeout <= 0:
            raise fail("upload_timeout must be positive", "upload_timeout")
        if self.store_dir_limit_size < 0:
            raise fail("store_dir_limit_size must not be negative", "store_dir_limit_size")
        self._derive("date_key", _date_key(self.json_date_key))
        if not self.log_key:
            self._derive("log_key", None)


def _date_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw if parse_bool(raw) else None
    except ValueError:
        return raw


def _codec(raw: str | None, fmt: str, location: Location) -> Compression:
    value = (raw or "none").strip().lower()
    allowed = ("none", "gzip", "zstd", "snappy") if fmt == "parquet" else ("none", "gzip", "zstd")
    if value not in allowed:
        raise ConfigError(
            f"output 's3': compression must be one of {', '.join(allowed[1:])} "
            f"with format {fmt}, got {raw!r}",
            location,
        )
    return value  # type: ignore[return-value]
