"""``--dry-run`` means the run will start: what would fail at start fails here, in one line
with file:line (issue 19, point 2)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.cli import run_logtide

TAIL = "[INPUT]\n    Name tail\n    Tag app\n    Path {log}\n"
STDOUT = "[OUTPUT]\n    Name stdout\n    Match *\n"


def dry_run(tmp_path: Path, body: str, *args: str) -> tuple[int, str]:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(body.replace("{log}", str(tmp_path / "app.log")))
    # the variables the configs use must really be unset
    assert not any(name.startswith("NOPE") for name in os.environ)
    result = run_logtide("-c", str(conf), "--dry-run", *args)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("section", "line", "wanted"),
    [
        (TAIL + "    Parser nosuch\n" + STDOUT, 5, "Parser: unknown parser 'nosuch'"),
        (
            TAIL + "    multiline.parser docker, nosuchml\n" + STDOUT,
            5,
            "multiline.parser: unknown multiline parser 'nosuchml'",
        ),
        (
            TAIL + "    Docker_Mode On\n    Docker_Mode_Parser nosuch\n" + STDOUT,
            6,
            "Docker_Mode_Parser: unknown parser 'nosuch'",
        ),
        (
            TAIL + "[FILTER]\n    Name parser\n    Match *\n    Key_Name log\n"
            "    Parser json\n    Parser nosuch\n" + STDOUT,
            10,
            "filter 'parser': Parser: unknown parser 'nosuch'",
        ),
    ],
    ids=["tail-parser", "tail-multiline", "tail-docker-mode-parser", "parser-filter"],
)
def test_unknown_parser_fails_dry_run_with_file_line(
    tmp_path: Path, section: str, line: int, wanted: str
) -> None:
    code, stderr = dry_run(tmp_path, section)
    assert code == 1
    assert stderr.count("\n") == 1, stderr
    assert f"fluent-bit.conf:{line}: " in stderr
    assert wanted in stderr
    assert "Traceback" not in stderr


def test_multiline_parser_naming_unknown_parser_fails_dry_run(tmp_path: Path) -> None:
    parsers = tmp_path / "parsers.conf"
    parsers.write_text(
        "[MULTILINE_PARSER]\n    Name ml\n    Type regex\n    Parser nosuch\n"
        '    Rule "start_state" "/^\\d/" "cont"\n    Rule "cont" "/^\\s/" "cont"\n'
    )
    body = f"[SERVICE]\n    Parsers_File {parsers}\n" + TAIL + "    multiline.parser ml\n" + STDOUT
    code, stderr = dry_run(tmp_path, body)
    assert code == 1, stderr
    assert "unknown parser 'nosuch'" in stderr
    assert "parsers.conf:1: " in stderr


def test_known_parsers_still_pass_dry_run(tmp_path: Path) -> None:
    body = (
        TAIL + "    Parser json\n    multiline.parser docker, cri\n"
        "[FILTER]\n    Name parser\n    Match *\n    Key_Name log\n    Parser docker\n" + STDOUT
    )
    code, stderr = dry_run(tmp_path, body)
    assert code == 0, stderr


S3 = "[OUTPUT]\n    Name s3\n    Match app\n    bucket b\n    store_dir {log}.d\n"
CWL = (
    "[OUTPUT]\n    Name cloudwatch_logs\n    Match app\n    region us-east-1\n"
    "    log_group_name g\n    log_stream_prefix p\n"
)
FIREHOSE = "[OUTPUT]\n    Name kinesis_firehose\n    Match app\n    region us-east-1\n"


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        (TAIL + S3 + "    region ${NOPE}\n", "output 's3': region is empty: ${NOPE} is not set"),
        (
            TAIL + "[OUTPUT]\n    Name s3\n    Match app\n    bucket ${NOPE}${NOPE_TOO}\n",
            "output 's3': bucket is empty: ${NOPE}, ${NOPE_TOO} are not set",
        ),
        (
            TAIL + S3 + "    endpoint ${NOPE}\n",
            "output 's3': endpoint is empty: ${NOPE} is not set",
        ),
        (
            TAIL + CWL.replace("us-east-1", "${NOPE}"),
            "output 'cloudwatch_logs': region is empty: ${NOPE} is not set",
        ),
        (
            TAIL + CWL.replace("log_group_name g", "log_group_name ${NOPE}"),
            "output 'cloudwatch_logs': log_group_name is empty: ${NOPE} is not set",
        ),
        (
            TAIL + FIREHOSE + "    delivery_stream ${NOPE}\n",
            "output 'kinesis_firehose': delivery_stream is empty: ${NOPE} is not set",
        ),
        (
            TAIL + "[FILTER]\n    Name kubernetes\n    Match *\n    Kube_URL ${NOPE}\n" + STDOUT,
            "filter 'kubernetes': Kube_URL is empty: ${NOPE} is not set",
        ),
    ],
    ids=["s3-region", "s3-bucket", "s3-endpoint", "cwl-region", "cwl-group", "firehose", "kube"],
)
def test_must_use_value_from_unset_variable_fails_dry_run(
    tmp_path: Path, body: str, wanted: str
) -> None:
    code, stderr = dry_run(tmp_path, body)
    assert code == 1, stderr
    assert stderr.count("\n") == 1, stderr
    assert re.search(r"fluent-bit\.conf:\d+: ", stderr), stderr
    assert wanted in stderr


def test_yaml_config_is_checked_the_same_way(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.yaml"
    conf.write_text(
        "pipeline:\n  inputs:\n    - name: tail\n      tag: app\n"
        f"      path: {tmp_path / 'app.log'}\n      parser: nosuch\n"
        "  outputs:\n    - name: stdout\n      match: '*'\n"
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 1
    assert "fluent-bit.yaml:6: input 'tail': Parser: unknown parser 'nosuch'" in result.stderr
    conf.write_text(
        "pipeline:\n  inputs:\n    - name: dummy\n"
        "  outputs:\n    - name: s3\n      match: '*'\n      bucket: b\n"
        "      region: ${NOPE}\n"
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 1
    assert "fluent-bit.yaml:8: output 's3': region is empty: ${NOPE} is not set" in result.stderr


def test_must_use_value_set_to_empty_fails_dry_run(tmp_path: Path) -> None:
    # a variable that is set but empty (an empty ConfigMap key) is no better than unset
    body = TAIL + S3 + "    region ${LOGTIDE_TEST_EMPTY}\n"
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(body.replace("{log}", str(tmp_path / "app.log")))
    result = run_logtide("-c", str(conf), "--dry-run", env={"LOGTIDE_TEST_EMPTY": ""})
    assert result.returncode == 1
    assert "output 's3': region is empty" in result.stderr


def test_optional_value_from_unset_variable_still_expands_to_empty(tmp_path: Path) -> None:
    # Fluent Bit's rule stays for values the plugin can do without
    body = TAIL + "    Path_Key ${NOPE}\n" + S3 + "    role_arn ${NOPE}\n"
    code, stderr = dry_run(tmp_path, body)
    assert code == 0, stderr


def test_unset_variable_in_a_typed_option_is_named(tmp_path: Path) -> None:
    code, stderr = dry_run(tmp_path, TAIL + "    Refresh_Interval ${NOPE}\n" + STDOUT)
    assert code == 1
    assert "option 'Refresh_Interval'" in stderr and "(${NOPE} is not set)" in stderr


def test_athena_ddl_refuses_an_empty_bucket(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    body = TAIL + "[OUTPUT]\n    Name s3\n    Match app\n    bucket ${NOPE}\n"
    conf.write_text(body.replace("{log}", str(tmp_path / "app.log")))
    result = run_logtide("athena", "ddl", "-c", str(conf), "--column", "a:string")
    assert result.returncode != 0
    assert "s3:///" not in result.stdout
    assert "bucket is empty: ${NOPE} is not set" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_athena_ddl_refuses_an_empty_bucket_written_as_empty(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.yaml"
    conf.write_text(
        "pipeline:\n  inputs:\n    - name: tail\n      tag: app\n"
        f"      path: {tmp_path / 'app.log'}\n"
        '  outputs:\n    - name: s3\n      match: app\n      bucket: ""\n'
    )
    result = run_logtide("athena", "ddl", "-c", str(conf), "--column", "a:string")
    assert result.returncode != 0
    assert "s3:///" not in result.stdout
    assert "bucket is empty" in result.stderr


DUMMY = "[INPUT]\n    Name dummy\n    Tag app\n"


@pytest.mark.parametrize(
    ("section", "line", "wanted"),
    [
        (
            DUMMY + "[FILTER]\n    Name rewrite_tag\n    Match app\n"
            "    Rule $log ^a$ ok false\n    Rule $log ^(a[ new false\n" + STDOUT,
            8,
            "Rule '$log ^(a[ new false': invalid regular expression",
        ),
        (
            DUMMY + "[FILTER]\n    Name lua\n    Match *\n    call cb\n"
            "    code function cb(tag, ts, r) return 0, ts, r\n" + STDOUT,
            8,
            "filter 'lua': inline code:1:",
        ),
        (
            "[INPUT]\n    Name systemd\n    Tag host\n"
            "    Systemd_Filter _SYSTEMD_UNIT=kubelet.service\n    Systemd_Filter bad\n" + STDOUT,
            5,
            "Systemd_Filter 'bad'",
        ),
        (
            DUMMY + "[FILTER]\n    Name grep\n    Match_Regex ^(app\n    Regex log x\n" + STDOUT,
            6,
            "Match_Regex '^(app' is not a valid regex",
        ),
        (
            DUMMY + "[OUTPUT]\n    Name stdout\n    Match *\n    Retry_Limit maybe\n",
            7,
            "Retry_Limit",
        ),
    ],
    ids=["rewrite-tag-second-rule", "lua-code", "systemd-filter", "match-regex", "retry-limit"],
)
def test_a_bad_value_checked_after_parsing_points_at_its_own_line(
    tmp_path: Path, section: str, line: int, wanted: str
) -> None:
    """Checks made once every option is read (a rule's regex, a script's syntax) name the
    line that wrote the value, not the line that opened the section."""
    code, stderr = dry_run(tmp_path, section)
    assert code == 1
    assert stderr.count("\n") == 1, stderr
    assert f"fluent-bit.conf:{line}: " in stderr, stderr
    assert wanted in stderr, stderr
