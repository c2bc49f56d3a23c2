"""A wrong kinesis_streams section fails ``logtide --dry-run`` with one line naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_logtide

HEAD = "[INPUT]\n    Name dummy\n    Tag app\n[OUTPUT]\n    Name kinesis_streams\n    Match app\n"


@pytest.mark.parametrize(
    ("extra", "wanted", "line"),
    [
        ("    region us-east-1\n", "output 'kinesis_streams': missing required option 'stream'", 4),
        ("    stream logs\n", "output 'kinesis_streams': missing required option 'region'", 4),
        (
            "    region us-east-1\n    stream logs\n    partition_key $k['a'\n",
            "kinesis_streams: partition_key: invalid record accessor",
            9,
        ),
        (
            "    region us-east-1\n    stream logs\n    log_key log\n    time_key t\n",
            "'time_key' and 'log_key' can not be used together",
            4,
        ),
    ],
    ids=["no-stream", "no-region", "bad-partition-key", "time-and-log-key"],
)
def test_bad_section_is_one_line_with_file_and_line(
    tmp_path: Path, extra: str, wanted: str, line: int
) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(HEAD + extra)
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{conf}:{line}:" in lines[0] and wanted in lines[0]
    assert "Traceback" not in result.stderr
