"""Fluent Bit 5.1.1's stock parsers: known by name, replaced by a user's parser of the same
name, rendered as the image's ``/fluent-bit/etc/parsers.conf``, and the year-less syslog
time taking the current year as Fluent Bit does."""

from __future__ import annotations

import calendar
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logtide.agent.config.loader import load_file
from logtide.agent.parsers.base import ParserSection
from logtide.agent.parsers.registry import ParserRegistry
from logtide.agent.parsers.stock import STOCK_PARSERS, render
from tests.support.cli import run_logtide, tail_workdir
from tests.unit.parsers.helpers import section

# The 18 parsers of Fluent Bit 5.1.1's conf/parsers.conf (it has no ltsv one).
FLUENT_BIT_5_1_1 = {
    "apache",
    "apache2",
    "apache_error",
    "nginx",
    "k8s-nginx-ingress",
    "json",
    "logfmt",
    "docker",
    "docker-daemon",
    "syslog-rfc5424",
    "syslog-rfc3164-local",
    "syslog-rfc3164",
    "mongodb",
    "envoy",
    "istio-envoy-proxy",
    "cri",
    "kube-custom",
    "kmsg-netfilter-log",
}

NGINX_LINE = (
    '10.0.0.7 - alice [24/Feb/2023:12:36:50 -0700] "GET /cart?id=3 HTTP/1.1" 200 512 '
    '"https://shop.example/" "curl/8.4.0"'
)


def test_every_stock_parser_is_known_without_a_parsers_file() -> None:
    assert set(STOCK_PARSERS) == FLUENT_BIT_5_1_1
    assert set(ParserRegistry.builtin().names()) == FLUENT_BIT_5_1_1


def test_stock_nginx_gives_fluent_bits_fields_and_time() -> None:
    t, record = ParserRegistry.builtin().get("nginx").parse(NGINX_LINE)
    assert t == calendar.timegm((2023, 2, 24, 19, 36, 50))
    assert record == {
        "remote": "10.0.0.7",
        "host": "-",
        "user": "alice",
        "method": "GET",
        "path": "/cart?id=3",
        "code": "200",
        "size": "512",
        "referer": "https://shop.example/",
        "agent": "curl/8.4.0",
    }


def test_a_users_parser_of_the_same_name_wins() -> None:
    registry = ParserRegistry.from_sections([section(Name="nginx", Format="json")])
    assert registry.get("nginx").format_name == "json"
    assert registry.get("nginx").parse(NGINX_LINE) is None
    # The other stock parsers stay.
    assert set(registry.names()) == FLUENT_BIT_5_1_1
    assert registry.get("apache2").format_name == "regex"


def _with_now(parser_name: str, now: float) -> ParserRegistry:
    registry = ParserRegistry.builtin()
    time_format = registry.get(parser_name).config.time_format
    assert time_format is not None
    time_format._now = lambda: now
    return registry


@pytest.mark.parametrize("name", ["syslog-rfc3164", "syslog-rfc3164-local"])
def test_year_less_syslog_time_takes_the_current_utc_year(name: str) -> None:
    registry = _with_now(name, calendar.timegm((2031, 6, 1, 0, 0, 0)))
    host = " web-1" if name == "syslog-rfc3164" else ""
    t, record = registry.get(name).parse(f"<34>Mar 12 09:51:16{host} sshd[52]: retry")
    assert t == calendar.timegm((2031, 3, 12, 9, 51, 16))
    assert record["time"] == "Mar 12 09:51:16"  # Time_Keep On


def test_year_less_time_has_no_rollover_rule() -> None:
    # Fluent Bit (flb_parser_time_lookup) prefixes the current year and nothing else: a
    # December line read on 1 January lands in the new year, a year ahead.
    registry = _with_now("syslog-rfc3164", calendar.timegm((2031, 1, 1, 0, 0, 5)))
    t, _ = registry.get("syslog-rfc3164").parse("<34>Dec 31 23:59:58 web-1 cron: tick")
    assert t == calendar.timegm((2031, 12, 31, 23, 59, 58))


def test_generated_parsers_conf_reads_back_as_the_same_definitions(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "logtide.agent.parsers.stock"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == render()
    (tmp_path / "parsers.conf").write_text(result.stdout)
    (tmp_path / "fluent-bit.conf").write_text("[SERVICE]\n    Parsers_File parsers.conf\n")
    document = load_file(str(tmp_path / "fluent-bit.conf"))
    read_back = {
        section.value("Name"): [(e.key, e.value) for e in section.entries]
        for section in document.parsers
    }
    assert read_back == {name: parser.entries() for name, parser in STOCK_PARSERS.items()}
    # And the file builds the same parsers: the same records from the same line.
    sections = [ParserSection(s.location, tuple(s.entries)) for s in document.parsers]
    from_file = ParserRegistry.from_sections(sections)
    stock = ParserRegistry.builtin()
    for name in ("nginx", "apache", "k8s-nginx-ingress"):
        assert from_file.get(name).parse(NGINX_LINE) == stock.get(name).parse(NGINX_LINE)


ROOT = Path(__file__).resolve().parents[3]


def test_image_ships_stock_parsers_and_keeps_the_article_config_working(tmp_path: Path) -> None:
    """The Dockerfile's step, run on a copy of the article config: the stock file lands at
    parsers.conf and the article's own parsers (``dummy``) stay reachable."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    step = re.search(r"^RUN mv /fluent-bit/etc/parsers\.conf .*?[^\\]\n", dockerfile, re.M | re.S)
    assert step is not None
    etc = tmp_path / "etc"
    shutil.copytree(ROOT / "examples" / "article", etc)
    script = step.group(0)[len("RUN ") :].replace("/fluent-bit/etc", str(etc))
    script = script.replace("python -m", f"{sys.executable} -m")
    subprocess.run(["sh", "-c", script], check=True, timeout=60)
    assert (etc / "parsers.conf").read_text() == render()
    env = {"S3_BUCKET": "bucket", "AWS_REGION": "us-east-1"}
    result = run_logtide("--dry-run", "-c", str(etc / "fluent-bit.conf"), env=env)
    assert result.returncode == 0, result.stderr


def test_real_process_uses_the_users_parser_over_the_stock_one(tmp_path: Path) -> None:
    config = """[SERVICE]
    Parsers_File parsers.conf
[INPUT]
    Name tail
    Path {log}/*.log
    Read_from_Head On
    DB {state}/tail.db
    Parser nginx
[OUTPUT]
    Name file
    Match *
    Path {out}
    File records.jsonl
    Format plain
"""
    log, _, out, conf = tail_workdir(tmp_path, config)
    (tmp_path / "parsers.conf").write_text("[PARSER]\n    Name nginx\n    Format json\n")
    (log / "a.log").write_text(NGINX_LINE + '\n{"k":"v"}\n')
    result = run_logtide("-c", str(conf), "--once")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert records == [{"log": NGINX_LINE}, {"k": "v"}]
