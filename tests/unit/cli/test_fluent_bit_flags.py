"""Every flag ``fluent-bit -h`` (5.1.1) lists, and every long name in its ``long_opts``,
runs under ``logtide``: implemented where logtide can do what it means, otherwise accepted
with a one-line note on stderr."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from logtide.agent.cli import build_document, main
from logtide.agent.cli_args import parse_args
from logtide.agent.config.service import ServiceSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.engine.plan import build_plan
from tests.support.cli import run_logtide, start_logtide

# Fluent Bit 5.1.1, src/fluent-bit.c: the getopt string "b:c:dDf:C:i:m:M:o:R:r:F:p:e:
# t:T:l:vw:qVhJL:HP:s:SWYZ" (less -M, Windows only) and long_opts, each with a sample value
# ({tmp} is a scratch folder). -h, -J and -V end the command line; they are tested below.
FLUENT_BIT_FLAGS: list[tuple[str, ...]] = [
    ("-b", "{tmp}/storage"),
    ("--storage_path", "{tmp}/storage"),
    ("-c", "{tmp}/fluent-bit.conf"),
    ("--config", "{tmp}/fluent-bit.conf"),
    ("-d",),
    ("--daemon",),
    ("--supervisor",),
    ("-D",),
    ("--dry-run",),
    ("-f", "2"),
    ("--flush", "2"),
    ("-C", "calyptia"),
    ("--custom", "calyptia"),
    ("-i", "dummy"),
    ("--input", "dummy"),
    ("-r", "content_modifier"),
    ("--processor", "content_modifier"),
    ("-F", "grep", "-p", "regex=message x"),
    ("--filter", "grep", "-p", "regex=message x"),
    ("-o", "stdout", "-m", "*"),
    ("--output", "stdout", "--match", "*"),
    ("-i", "dummy", "-t", "mytag"),
    ("-i", "dummy", "--tag", "mytag"),
    ("-i", "dummy", "--prop", "samples=1"),
    ("-R", "{tmp}/parsers.conf"),
    ("--parser", "{tmp}/parsers.conf"),
    ("-e", "{tmp}/out_custom.so"),
    ("--plugin", "{tmp}/out_custom.so"),
    ("-l", "{tmp}/agent.log"),
    ("--log_file", "{tmp}/agent.log"),
    ("-T", "SELECT * FROM TAG:'dummy.0';"),
    ("--sp-task", "SELECT * FROM TAG:'dummy.0';"),
    ("-v",),
    ("-vv",),
    ("--verbose",),
    ("-Z",),
    ("--enable-chunk-trace",),
    ("--trace", "input=dummy.0 output=stdout"),
    ("--trace-input", "dummy.0"),
    ("--trace-output", "stdout"),
    ("--trace-output-property", "format=json"),
    ("-w", "{tmp}"),
    ("--workdir", "{tmp}"),
    ("-H",),
    ("--http",),
    ("--http_server",),
    ("-P", "2021"),
    ("--port", "2021"),
    ("--http_port", "2021"),
    ("-L", "127.0.0.1"),
    ("--http_listen", "127.0.0.1"),
    ("-s", "24576"),
    ("--coro_stack_size", "24576"),
    ("-q",),
    ("--quiet",),
    ("-S",),
    ("--sosreport",),
    ("-Y",),
    ("--enable-hot-reload",),
    ("--enable-fips",),
    ("-W",),
    ("--disable-thread-safety-on-hot-reload",),
    ("--disable-thread-safety-on-hot-reloading",),  # as `fluent-bit -h` spells it
]
IGNORED = {
    "-d", "--daemon", "--supervisor", "-C", "--custom", "-r", "--processor", "-e",
    "--plugin", "-Z", "--enable-chunk-trace", "--trace", "--trace-input", "--trace-output",
    "--trace-output-property", "-s", "--coro_stack_size", "-S", "--sosreport",
    "--enable-fips", "-W", "--disable-thread-safety-on-hot-reload",
    "--disable-thread-safety-on-hot-reloading",
}  # fmt: skip


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with the files the flags name; cwd and the ``logtide`` logger restored."""
    (tmp_path / "fluent-bit.conf").write_text("[INPUT]\n    Name dummy\n")
    (tmp_path / "parsers.conf").write_text("[PARSER]\n    Name p\n    Format json\n")
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("logtide")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield tmp_path
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        if handler not in saved[0]:
            handler.close()
    for handler in saved[0]:
        logger.addHandler(handler)
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


@pytest.mark.parametrize("flag", FLUENT_BIT_FLAGS, ids=lambda f: " ".join(f))
def test_every_fluent_bit_flag_is_accepted_by_dry_run(
    flag: tuple[str, ...], scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = [word.replace("{tmp}", str(scratch)) for word in flag]
    assert main(["-i", "dummy", "-o", "null", *words, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "configuration test is successful" in out
    notes = [line for line in err.splitlines() if line.startswith("logtide: note: ")]
    if flag[0] in IGNORED:
        assert notes == [f"logtide: note: {flag[0]} is ignored: {notes[0].split(': ', 3)[3]}"]
    else:
        assert notes == []


def plan_for(*argv: str) -> ServiceSettings:
    return build_plan(build_document(parse_args(["-i", "dummy", "-o", "null", *argv]))).service


def test_http_flags_set_the_monitoring_server() -> None:
    service = plan_for("-H", "-P", "2021", "-L", "127.0.0.1")
    assert (service.http_server, service.http_port, service.http_listen) == (
        True,
        2021,
        "127.0.0.1",
    )
    assert plan_for().http_server is False


def test_command_line_service_flags_win_over_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text("[SERVICE]\n    HTTP_Server Off\n    HTTP_Port 2020\n[INPUT]\n    Name dummy\n")
    service = build_plan(build_document(parse_args(["-c", str(conf), "-H", "-P", "2021"]))).service
    assert (service.http_server, service.http_port) == (True, 2021)


def test_storage_path_and_hot_reload_flags_set_the_service(tmp_path: Path) -> None:
    service = plan_for("-b", str(tmp_path), "-Y")
    assert service.storage_path == str(tmp_path)
    assert service.hot_reload is True


@pytest.mark.parametrize(
    "argv",
    [
        ["-DHP2021"],  # short flags combine; a value may be attached
        ["-D", "-H", "--port=2021"],
        ["--dry", "--http", "--po", "2021"],  # unambiguous prefixes, as getopt_long allows
        ["--dry-run", "--http_server", "--http_p=2021"],
    ],
)
def test_getopt_spellings(argv: list[str]) -> None:
    args = parse_args(argv)
    assert args.dry_run
    assert [(e.key, e.value) for e in args.service] == [
        ("HTTP_Server", "On"),
        ("HTTP_Port", "2021"),
    ]


def test_ambiguous_prefix_and_missing_value_are_errors() -> None:
    with pytest.raises(ConfigError, match="ambiguous: --trace-output, --trace-output-property"):
        parse_args(["--trace-o", "x"])
    with pytest.raises(ConfigError, match="option -P needs a value"):
        parse_args(["-P"])


def test_value_may_start_with_a_dash() -> None:
    args = parse_args(["-i", "dummy", "-t", "-odd-tag"])
    assert [(e.key, e.value) for e in args.sections[0].entries][-1] == ("Tag", "-odd-tag")


def test_properties_after_an_ignored_custom_plugin_do_not_reach_the_input() -> None:
    args = parse_args(["-i", "dummy", "-C", "calyptia", "-p", "api_key=x"])
    assert [e.key for e in args.sections[0].entries] == ["Name"]
    assert args.notes == ["-C is ignored: logtide has no custom plugins"]


def test_workdir_makes_relative_paths_start_there(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir("/")
    assert main(["-w", str(scratch), "-c", "fluent-bit.conf", "--dry-run"]) == 0
    assert main(["-w", str(scratch / "missing"), "-c", "fluent-bit.conf", "-D"]) == 1
    assert "-w " in capsys.readouterr().err


def test_help_after_an_input_shows_that_inputs_options() -> None:
    after = run_logtide("-i", "tail", "-h")
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith("input plugin 'tail'")
    assert "  Path " in after.stdout and "  DB " in after.stdout
    assert after.stdout == run_logtide("-h", "tail").stdout


def test_help_json_lists_every_plugin_or_one() -> None:
    everything = json.loads(run_logtide("-J").stdout)
    assert "tail" in [plugin["name"] for plugin in everything["inputs"]]
    assert "s3" in [plugin["name"] for plugin in everything["outputs"]]
    assert "HTTP_Port" in [option["name"] for option in everything["service"]["options"]]
    s3 = json.loads(run_logtide("-o", "s3", "--help-json").stdout)
    assert s3["type"] == "output" and s3["name"] == "s3"
    assert "total_file_size" in [option["name"] for option in s3["properties"]["options"]]


def test_main_help_lists_every_fluent_bit_flag() -> None:
    text = run_logtide("-h").stdout
    for flag in {words[0] for words in FLUENT_BIT_FLAGS} | {"-h", "--help", "-J", "-V"}:
        assert f"{flag}," in text or f"{flag} " in text or f"{flag}\n" in text, flag


@pytest.mark.parametrize("argv", [["demo", "-h"], ["athena", "-h"], ["athena", "query", "-h"]])
def test_subcommand_help_looks_like_the_main_help(argv: list[str]) -> None:
    text = run_logtide(*argv).stdout
    assert text.startswith(f"usage: logtide {argv[0]}")
    assert "\noptions:\n" in text and "``" not in text
    assert max(len(line) for line in text.splitlines()) <= 100
    helps = [line for line in text.splitlines() if line.startswith("  -h, --help")]
    main_help = run_logtide("-h").stdout
    column = next(line for line in main_help.splitlines() if line.startswith("  -i")).index("add")
    assert all(len(line) - len(line[4:].lstrip()) <= column for line in helps)
    if argv == ["demo", "-h"]:
        assert "--duration S " in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_http_and_port_flags_serve_uptime() -> None:
    port = free_port()
    proc = start_logtide("-i", "dummy", "-p", "rate=1", "-o", "null", "-H", "-P", str(port),
                         "-L", "127.0.0.1")  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/uptime"
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "no HTTP server on the -P port"
                time.sleep(0.2)
        assert body["uptime_sec"] >= 0
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
