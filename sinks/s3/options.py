"""The s3 output's option table (Fluent Bit's names and defaults) and its parsed form.

:func:`load_config` turns validated :class:`Settings` into an immutable :class:`S3Config`, so
the rest of the package never re-parses strings; it does no I/O and is what ``validate`` runs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

from agent.core.common_options import COMMON_OUTPUT_OPTIONS
from agent.core.errors import ConfigError
from agent.core.options import Option, Settings, parse_bool
from agent.core.retry import parse_retry_limit
from sinks.aws.client import AWS_OPTIONS
from sinks.s3.keys import KeyFormat, KeyFormatError

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


@dataclass(frozen=True, slots=True)
class S3Config:
    bucket: str
    store_dir: str
    store_dir_limit_size: int
    total_file_size: int
    part_size: int
    upload_timeout: float
    use_put_object: bool
    key_format: KeyFormat
    static_file_path: bool
    date_key: str | None
    date_format: DateFormat
    log_key: str | None
    compression: Compression
    format: Literal["json_lines", "parquet"]
    content_type: str | None
    send_content_md5: bool
    canned_acl: str | None
    storage_class: str | None
    server_side_encryption: str | None
    ssekms_key_id: str | None
    preserve_data_ordering: bool
    retry_limit: int | None
    alias: str | None


def _date_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw if parse_bool(raw) else None
    except ValueError:
        return raw


def _compression(raw: str | None, fmt: str, settings: Settings) -> Compression:
    value = (raw or "none").strip().lower()
    allowed = ("none", "gzip", "zstd", "snappy") if fmt == "parquet" else ("none", "gzip", "zstd")
    if value not in allowed:
        raise ConfigError(
            f"output 's3': compression must be one of {', '.join(allowed[1:])} "
            f"with format {fmt}, got {raw!r}",
            settings.location,
        )
    return value  # type: ignore[return-value]


def load_config(settings: Settings) -> S3Config:
    """Parse and cross-check the settings; raises one-line :class:`ConfigError`s, no I/O."""
    where = settings.location

    def fail(message: str) -> ConfigError:
        return ConfigError(f"output 's3': {message}", where)

    raw_format = str(settings["s3_key_format"])
    if not raw_format.startswith("/"):
        raise fail("s3_key_format must start with a '/'")
    try:
        key_format = KeyFormat(raw_format, str(settings["s3_key_format_tag_delimiters"]))
    except KeyFormatError as exc:
        raise fail(f"s3_key_format: {exc}") from None

    fmt = settings["format"]
    if fmt == "parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise fail("format parquet needs pyarrow: pip install 'logtide[parquet]'")
        if settings.get("log_key"):
            raise fail("log_key is not supported with format parquet")
    compression = _compression(settings.get("compression"), fmt, settings)
    if compression == "zstd" and fmt == "json_lines" and not importlib.util.find_spec("cramjam"):
        raise fail("compression zstd needs the cramjam package")

    total = int(settings["total_file_size"])
    part = int(settings["upload_chunk_size"])
    use_put_object = bool(settings["use_put_object"])
    if total < MIB or total > MAX_FILE_SIZE:
        raise fail("total_file_size must be between 1M and 50G")
    if not use_put_object and total < 2 * MIN_PART_SIZE:
        # Fluent Bit does the same: a multipart upload needs two parts of at least 5 MiB.
        use_put_object = True
    if use_put_object:
        if total > MAX_PUT_OBJECT_SIZE:
            raise fail("total_file_size can be at most 50M with use_put_object")
    else:
        if part < MIN_PART_SIZE:
            raise fail("upload_chunk_size must be at least 5M (5,242,880 bytes)")
        if part > MAX_PART_SIZE:
            raise fail("upload_chunk_size can be at most 50M")
        if part > total:
            raise fail("upload_chunk_size can not be larger than total_file_size")
        if part != MIN_PART_SIZE and 2 * part > total:
            raise fail("total_file_size must be at least twice upload_chunk_size")

    sse = settings.get("server_side_encryption")
    kms_key = settings.get("ssekms_key_id")
    if kms_key and sse != "aws:kms":
        raise fail("ssekms_key_id needs server_side_encryption aws:kms")
    if float(settings["upload_timeout"]) <= 0:
        raise fail("upload_timeout must be positive")
    if int(settings["store_dir_limit_size"]) < 0:
        raise fail("store_dir_limit_size must not be negative")
    try:
        retry_limit = parse_retry_limit(settings.get("retry_limit"))
    except ConfigError as exc:
        raise fail(exc.message) from None

    return S3Config(
        bucket=str(settings["bucket"]),
        store_dir=str(settings["store_dir"]),
        store_dir_limit_size=int(settings["store_dir_limit_size"]),
        total_file_size=total,
        part_size=part,
        upload_timeout=float(settings["upload_timeout"]),
        use_put_object=use_put_object,
        key_format=key_format,
        static_file_path=bool(settings["static_file_path"]),
        date_key=_date_key(settings.get("json_date_key")),
        date_format=settings["json_date_format"],
        log_key=settings.get("log_key") or None,
        compression=compression,
        format=fmt,
        content_type=settings.get("content_type"),
        send_content_md5=bool(settings["send_content_md5"]),
        canned_acl=settings.get("canned_acl"),
        storage_class=settings.get("storage_class"),
        server_side_encryption=sse,
        ssekms_key_id=kms_key,
        preserve_data_ordering=bool(settings["preserve_data_ordering"]),
        retry_limit=retry_limit,
        alias=settings.get("alias"),
    )
