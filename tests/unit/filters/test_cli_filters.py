"""The parser, grep, modify, record_modifier and nest filters through the real ``logtide``."""

import json
import subprocess
import sys
from pathlib import Path

LOGTIDE = Path(sys.executable).parent / "logtide"

PARSERS = """\
[PARSER]
    Name   app
    Format regex
    Regex  ^(?<level>\\w+) (?<msg>.*)$
"""

CONFIG = """\
[SERVICE]
    Flush        1
    Parsers_File parsers.conf
[INPUT]
    Name    dummy
    Tag     app
    Dummy   {{"log": "INFO hello world", "stream": "stdout"}}
    Samples 2
[INPUT]
    Name    dummy
    Tag     app
    Dummy   {{"log": "DEBUG noise", "stream": "stdout"}}
    Samples 2
[FILTER]
    Name         parser
    Match        app
    Key_Name     log
    Parser       {parser}
    Reserve_Data On
[FILTER]
    Name  grep
    Match app
    Regex level ^INFO$
[FILTER]
    Name   modify
    Match  app
    Rename msg message
    Add    env prod
[FILTER]
    Name   record_modifier
    Match  app
    Record node n1
[FILTER]
    Name       nest
    Match      app
    Operation  nest
    Wildcard   env
    Wildcard   node
    Nest_under meta
[OUTPUT]
    Name   file
    Match  app
    Path   {out}
    File   records.jsonl
    Format plain
"""


def run(tmp_path: Path, parser: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "parsers.conf").write_text(PARSERS)
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "fluent-bit.conf"
    config.write_text(CONFIG.format(parser=parser, out=out))
    return subprocess.run(
        [str(LOGTIDE), "-c", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_filter_chain_through_the_cli(tmp_path):
    result = run(tmp_path, "app")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out" / "records.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    expected = {
        "level": "INFO",
        "message": "hello world",
        "stream": "stdout",
        "meta": {"env": "prod", "node": "n1"},
    }
    assert records == [expected, expected]
    assert list(records[0]) == ["level", "message", "stream", "meta"]


def test_unknown_parser_is_a_one_line_config_error(tmp_path):
    result = run(tmp_path, "nope")
    assert result.returncode != 0
    assert "fluent-bit.conf:" in result.stderr
    assert "unknown parser 'nope'; known parsers: apache, apache2, apache_error, app, cri," in (
        result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
