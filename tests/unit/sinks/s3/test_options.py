"""The s3 option table: Fluent Bit defaults and cross-option checks (no I/O)."""

from __future__ import annotations

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.sinks.s3 import S3Output
from logtide.sinks.s3.options import MIN_PART_SIZE, S3Settings
from tests.support.plugins import settings_for


def config(**options: str):  # type: ignore[no-untyped-def]
    return S3Settings.bind(settings_for(S3Output, bucket="b", **options))


def test_fluent_bit_defaults() -> None:
    cfg = config()
    assert cfg.store_dir == "/tmp/fluent-bit/s3"
    assert cfg.total_file_size == 100000000
    assert cfg.upload_chunk_size == MIN_PART_SIZE
    assert cfg.upload_timeout == 600
    assert cfg.key_format.template == "/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S"
    assert cfg.date_key == "date" and cfg.json_date_format == "iso8601"
    assert cfg.codec == "none" and cfg.format == "json_lines"
    assert cfg.preserve_data_ordering is True
    assert cfg.use_put_object is False
    assert settings_for(S3Output, bucket="b")["region"] == "us-east-1"


def test_article_settings() -> None:
    cfg = config(total_file_size="30M", upload_timeout="3m", store_dir="/var/log/fluentbit")
    assert cfg.total_file_size == 30 * 1024 * 1024 and cfg.upload_timeout == 180


def test_small_total_file_size_switches_to_put_object() -> None:
    assert config(total_file_size="8M").use_put_object is True


def test_json_date_key_false_disables_it() -> None:
    assert config(json_date_key="false").date_key is None
    assert config(json_date_key="ts").date_key == "ts"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"s3_key_format": "logs/$TAG"}, "must start with a '/'"),
        ({"s3_key_format": "/x/${bad"}, "s3_key_format"),
        ({"upload_chunk_size": "4M", "total_file_size": "20M"}, "at least 5M"),
        ({"upload_chunk_size": "60M", "total_file_size": "200M"}, "at most 50M"),
        ({"upload_chunk_size": "8M", "total_file_size": "12M"}, "twice upload_chunk_size"),
        ({"use_put_object": "On", "total_file_size": "60M"}, "at most 50M"),
        ({"compression": "snappy"}, "compression"),
        ({"compression": "arrow"}, "compression"),
        ({"ssekms_key_id": "k"}, "aws:kms"),
        ({"Retry_Limit": "soon"}, "Retry_Limit"),
        ({"total_file_size": "100k"}, "between 1M and 50G"),
    ],
)
def test_bad_combinations_are_one_line_config_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as failure:
        config(**options)
    assert str(failure.value).startswith("test.conf:1: output 's3': ")
    assert "\n" not in str(failure.value)


def test_server_side_encryption_choices() -> None:
    assert config(server_side_encryption="aws:kms", ssekms_key_id="k").ssekms_key_id == "k"
    with pytest.raises(ConfigError):
        config(server_side_encryption="rot13")


def test_parquet_format() -> None:
    pytest.importorskip("pyarrow")
    cfg = config(format="parquet", compression="snappy")
    assert cfg.format == "parquet" and cfg.codec == "snappy"
    with pytest.raises(ConfigError, match="log_key"):
        config(format="parquet", log_key="log")


def test_missing_bucket() -> None:
    with pytest.raises(ConfigError, match="bucket"):
        settings_for(S3Output)
