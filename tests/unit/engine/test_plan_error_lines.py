"""A value a check refuses is reported at the line that wrote it, not at its section's
header: in a ConfigMap of several hundred lines, ``fluent-bit.conf:212`` must be the line to
edit. Checks across options (two that exclude each other) still name the section."""

from __future__ import annotations

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.errors import ConfigError
from logtide.agent.engine.plan import build_plan

_INPUT = "[INPUT]\n    Name dummy\n"
_OUTPUT = "[OUTPUT]\n    Name null\n    Match *\n"
_S3 = "    Name s3\n    Match *\n    bucket b\n    region us-east-1\n"
_CW = "    Name cloudwatch_logs\n    Match *\n    region us-east-1\n    log_group_name g\n"

# (section text, the option line the error must name, what the message says). Each bad line
# has a good one after it, so the line found is not merely the section's last.
CASES = [
    ("[FILTER]\n    Name modify\n    Match *\n    Rename a\n    Add b c", "Rename a", "rename"),
    (
        "[FILTER]\n    Name modify\n    Match *\n    Remove_regex (\n    Add b c",
        "Remove_regex",
        "(",
    ),
    (
        "[FILTER]\n    Name modify\n    Match *\n    Condition Bogus a\n    Add b c",
        "Condition",
        "Bogus",
    ),
    ("[FILTER]\n    Name grep\n    Match *\n    Regex a\n    Exclude b c", "Regex a", "KEY REGEX"),
    ("[FILTER]\n    Name grep\n    Match *\n    Exclude b c\n    Regex a (", "Regex a (", "("),
    (
        "[FILTER]\n    Name aws\n    Match *\n    retry_interval_s -1\n    ec2_instance_id On",
        "retry_interval_s",
        ">= 0",
    ),
    (
        "[FILTER]\n    Name aws\n    Match *\n    imds_endpoint ftp://x\n    ec2_instance_id On",
        "imds_endpoint",
        "http://",
    ),
    (
        "[FILTER]\n    Name kubernetes\n    Match *\n    Kube_URL ftp://x\n    Labels Off",
        "Kube_URL",
        "https://",
    ),
    (
        "[FILTER]\n    Name kubernetes\n    Match *\n    Kubelet_Port 99999\n    Labels Off",
        "Kubelet_Port",
        "1-65535",
    ),
    ("[INPUT]\n    Name dummy\n    Rate 0\n    Tag t", "Rate", "positive"),
    ("[INPUT]\n    Name forward\n    Port 99999\n    Tag t", "Port", "TCP port"),
    ("[INPUT]\n    Name forward\n    Unix_Perm 9z\n    Tag t", "Unix_Perm", "octal"),
    (
        "[INPUT]\n    Name forward\n    Shared_Key k\n    security.users alice\n    Tag t",
        "security.users",
        "username password",
    ),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Docker_Mode_Flush 0\n    Tag t",
        "Docker_Mode_Flush",
        "positive",
    ),
    ("[INPUT]\n    Name tail\n    Path /x\n    Tag_Regex (\n    Tag t", "Tag_Regex", "("),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Buffer_Max_Size 0\n    Tag t",
        "Buffer_Max_Size",
        "positive",
    ),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Buffer_Max_Size 1k\n    Tag t",
        "Buffer_Max_Size",
        "at least Buffer_Chunk_Size",
    ),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Buffer_Chunk_Size 64k\n    Tag t",
        "Buffer_Chunk_Size",
        "at least Buffer_Chunk_Size",
    ),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Refresh_Interval 0\n    Tag t",
        "Refresh_Interval",
        "positive",
    ),
    (
        "[INPUT]\n    Name tail\n    Path /x\n    Rotate_Wait 0\n    Tag t",
        "Rotate_Wait",
        "positive",
    ),
    ("[INPUT]\n    Name systemd\n    Max_Entries 0\n    Tag t", "Max_Entries", "positive"),
    ("[INPUT]\n    Name systemd\n    Interval_NSec -1\n    Tag t", "Interval_NSec", "negative"),
    ("[OUTPUT]\n    Name forward\n    Match *\n    Port 99999\n    Host h", "Port", "TCP port"),
    ("[OUTPUT]\n    Name forward\n    Match *\n    Compress zip\n    Host h", "Compress", "gzip"),
    (
        "[OUTPUT]\n    Name forward\n    Match *\n    ack_response_timeout 0\n    Host h",
        "ack_response_timeout",
        "positive",
    ),
    ("[OUTPUT]\n    Name http\n    Match *\n    Port 99999\n    Host h", "Port", "1-65535"),
    ("[OUTPUT]\n    Name http\n    Match *\n    proxy https://p\n    Host h", "proxy", "http://"),
    (
        "[OUTPUT]\n    Name http\n    Match *\n    Header a\n    Host h",
        "Header",
        "name and a value",
    ),
    (
        "[OUTPUT]\n    Name file\n    Match *\n    File a/b\n    Path /tmp",
        "File",
        "plain file name",
    ),
    ("[OUTPUT]\n" + _S3 + "    total_file_size 1K\n    use_put_object On", "total_file_size", "1M"),
    ("[OUTPUT]\n" + _S3 + "    compression zip\n    use_put_object On", "compression", "gzip"),
    ("[OUTPUT]\n" + _S3 + "    s3_key_format x\n    use_put_object On", "s3_key_format", "'/'"),
    (
        "[OUTPUT]\n" + _S3 + "    upload_timeout 0\n    use_put_object On\n    total_file_size 9M",
        "upload_timeout",
        "positive",
    ),
    (
        "[OUTPUT]\n    Name kinesis_streams\n    Match *\n    stream s\n    region us-east-1\n"
        "    partition_key $a[\n    time_key t",
        "partition_key",
        "record accessor",
    ),
    (
        "[OUTPUT]\n    Name es\n    Match *\n    Cloud_Auth nocolon\n    Host h",
        "Cloud_Auth",
        "user:password",
    ),
    ("[OUTPUT]\n    Name es\n    Match *\n    Cloud_ID bogus\n    Host h", "Cloud_ID", "base64"),
    (
        "[OUTPUT]\n    Name opensearch\n    Match *\n    Buffer_Size lots\n    Host h",
        "Buffer_Size",
        "size",
    ),
    (
        "[OUTPUT]\n" + _CW + "    log_retention_days 4\n    log_stream_prefix p-",
        "log_retention_days",
        "retention period",
    ),
    (
        "[OUTPUT]\n" + _CW + "    log_group_class bogus\n    log_stream_prefix p-",
        "log_group_class",
        "STANDARD",
    ),
    ("[PARSER]\n    Name p\n    Format regex\n    Regex (\n    Time_Key t", "Regex", "("),
    (
        "[PARSER]\n    Name p\n    Format json\n    Time_Format %Q%\n    Time_Key t",
        "Time_Format",
        "%Q",
    ),
    (
        "[PARSER]\n    Name p\n    Format json\n    Time_Format %s\n    Time_Offset soon\n    Time_Key t",
        "Time_Offset",
        "soon",
    ),
    (
        "[PARSER]\n    Name p\n    Format json\n    Time_Format %s\n    Time_Zone Nowhere/X",
        "Time_Zone",
        "Nowhere",
    ),
    (
        "[PARSER]\n    Name p\n    Format json\n    Decode_Field json log\n    Decode_Field_As bogus log\n"
        "    Time_Key t",
        "Decode_Field_As",
        "bogus",
    ),
    ("[SERVICE]\n    HTTP_Port 99999\n    Flush 1", "HTTP_Port", "0-65535"),
]


@pytest.mark.parametrize(
    ("section", "needle", "says"), CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)]
)
def test_a_refused_value_is_reported_at_its_own_line(section: str, needle: str, says: str) -> None:
    before = "" if section.startswith("[INPUT]") else _INPUT
    after = "" if section.startswith("[OUTPUT]") else _OUTPUT
    text = before + section + "\n" + after
    line = next(n for n, row in enumerate(text.split("\n"), 1) if row.strip().startswith(needle))
    with pytest.raises(ConfigError) as info:
        build_plan(load_string(text))
    assert f"<string>:{line}:" in str(info.value)
    assert says in str(info.value)


def test_options_that_exclude_each_other_name_the_section() -> None:
    text = (
        _INPUT
        + "[FILTER]\n    Name nest\n    Match *\n    Operation lift\n    Nested_under n\n"
        + "    Add_prefix a\n    Remove_prefix b\n"
        + _OUTPUT
    )
    with pytest.raises(ConfigError, match="exclusive") as info:
        build_plan(load_string(text))
    assert "<string>:3:" in str(info.value)
