from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.config.loader import load_file, load_string
from logtide.agent.core.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sections_entries_and_case_insensitive_keys() -> None:
    doc = load_string(
        "[SERVICE]\n    Flush 2\n\n# comment\n[INPUT]\n    NAME  tail\n    path  /var/log/*.log\n"
        "[FILTER]\n    Name parser\n    Parser a\n    Parser b\n[OUTPUT]\n    Name null\n    Match *\n",
        name="f.conf",
    )
    assert [(e.key, e.value) for e in doc.service.entries] == [("Flush", "2")]
    assert doc.inputs[0].name == "tail"
    assert doc.inputs[0].value("PATH") == "/var/log/*.log"
    assert [e.value for e in doc.filters[0].entries if e.key == "Parser"] == ["a", "b"]
    assert doc.inputs[0].entries[1].location.line == 7
    assert str(doc.inputs[0].entries[1].location) == "f.conf:7"


def test_values_keep_inner_spaces_and_tabs_separate_key() -> None:
    doc = load_string(
        "[STREAM_TASK]\n    Name  t\n    Exec  CREATE STREAM a AS SELECT * FROM TAG:'x';\n"
        "[INPUT]\n\tName\tdummy\n"
    )
    assert doc.stream_tasks[0].value("exec") == "CREATE STREAM a AS SELECT * FROM TAG:'x';"
    assert doc.inputs[0].name == "dummy"


def test_set_and_env_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LT_REGION", "eu-west-1")
    monkeypatch.delenv("LT_MISSING", raising=False)
    doc = load_string(
        "@SET bucket=my-bucket\n[OUTPUT]\n    Name s3\n    bucket ${bucket}\n"
        "    region ${LT_REGION}\n    x ${LT_MISSING:-fallback}\n    y a${LT_MISSING}b\n"
    )
    values = {e.key: e.value for e in doc.outputs[0].entries}
    assert values["bucket"] == "my-bucket"
    assert values["region"] == "eu-west-1"
    assert values["x"] == "fallback"
    assert values["y"] == "ab"


def test_include_globs_and_relative_referenced_files(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "inputs").mkdir()
    write(conf / "inputs" / "a.conf", "[INPUT]\n    Name dummy\n    Tag a\n")
    write(conf / "inputs" / "b.conf", "[INPUT]\n    Name dummy\n    Tag b\n")
    write(
        conf / "parsers.conf",
        "[PARSER]\n    Name j\n    Format json\n[MULTILINE_PARSER]\n    name m\n    type regex\n",
    )
    write(
        conf / "streams.conf",
        "[STREAM_TASK]\n    Name s\n    Exec CREATE STREAM s AS SELECT * FROM TAG:'a';\n",
    )
    main = write(
        conf / "fluent-bit.conf",
        "[SERVICE]\n    Parsers_File parsers.conf\n    Streams_File streams.conf\n"
        "@INCLUDE inputs/*.conf\n",
    )
    doc = load_file(str(main))
    assert [s.value("tag") for s in doc.inputs] == ["a", "b"]
    assert doc.parsers[0].name == "j"
    assert doc.multiline_parsers[0].name == "m"
    assert doc.stream_tasks[0].name == "s"
    assert len(doc.files) == 5


def test_crlf_line_endings() -> None:
    doc = load_string("[INPUT]\r\n    Name dummy\r\n    Tag x\r\n")
    assert doc.inputs[0].value("tag") == "x"


MALFORMED = [
    (
        "[INPUT]\nName dummy\n",
        "c.conf:2: entry 'Name dummy' must be indented under its section [INPUT]",
    ),
    (
        "[INPUT]\n    Name dummy\n  Tag x\n",
        "c.conf:3: invalid indentation: expected 4 leading space(s) as in the first entry of [INPUT], got 2",
    ),
    ("    Name dummy\n", "c.conf:1: entry 'Name dummy' appears before any [SECTION]"),
    (
        "[INPUTS]\n    Name dummy\n",
        "c.conf:1: unknown section [INPUTS]; valid sections: [SERVICE], [INPUT], [FILTER], "
        "[OUTPUT], [PARSER], [MULTILINE_PARSER], [STREAM_TASK], [CUSTOM], [PLUGINS]",
    ),
    ("[INPUT\n    Name dummy\n", "c.conf:1: malformed section header '[INPUT'"),
    ("[INPUT]\n    Name\n", "c.conf:2: key 'Name' has no value"),
    ("@SET novalue\n", "c.conf:1: malformed @SET '@SET novalue'; expected @SET KEY=VALUE"),
    ("@INCLUDE\n", "c.conf:1: @INCLUDE needs a file name or glob"),
    ("@INCLUDE /nonexistent/x.conf\n", "c.conf:1: @INCLUDE file not found: /nonexistent/x.conf"),
    ("@IMPORT x\n", "c.conf:1: unknown directive @IMPORT; valid: @INCLUDE, @SET"),
    (
        "[SERVICE]\n    Parsers_File /nonexistent/parsers.conf\n",
        "c.conf:2: config file not found: /nonexistent/parsers.conf",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_classic(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_string(text, name="c.conf")
    assert str(info.value) == message


def test_referenced_file_may_not_hold_inputs(tmp_path: Path) -> None:
    write(tmp_path / "parsers.conf", "[INPUT]\n    Name dummy\n")
    main = write(tmp_path / "f.conf", "[SERVICE]\n    Parsers_File parsers.conf\n")
    with pytest.raises(ConfigError) as info:
        load_file(str(main))
    assert (
        str(info.value)
        == f"{tmp_path}/parsers.conf:1: [INPUT] is not allowed in Parsers_File parsers.conf"
    )


def test_include_loop_is_reported(tmp_path: Path) -> None:
    loop = write(tmp_path / "loop.conf", "@INCLUDE loop.conf\n")
    with pytest.raises(ConfigError, match="nested deeper than 16 files"):
        load_file(str(loop))


def test_undefined_variables_survive_for_options_that_keep_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from logtide.agent.core.options import Option, resolve

    monkeypatch.setenv("LT_CLUSTER", "prod")
    monkeypatch.delenv("state", raising=False)
    doc = load_string(
        "[OUTPUT]\n    Name s3\n    s3_key_format /$TAG/${LT_CLUSTER}/state=${state}/x\n"
    )
    entry = doc.outputs[0].entries[1]
    assert entry.value == "/$TAG/prod/state=/x"
    table = (Option("Name"), Option("s3_key_format", keep_variables=True))
    settings = resolve("output 's3'", table, doc.outputs[0].entries, doc.outputs[0].location)
    assert settings["s3_key_format"] == "/$TAG/prod/state=${state}/x"
