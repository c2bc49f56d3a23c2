"""rewrite_tag: rule parsing, tag templates, first-match-wins, KEEP, string-only matching,
copies that run the pipeline again under their new tag, and a bad rule at ``--dry-run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.api import Pipeline
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.record_accessor import Template
from logtide.agent.filters.rewrite_tag_rules import parse_rule
from tests.support.cli import run_logtide

HERE = Location("test.conf", 1)


def render(template: str, pattern: str, value: str, record: dict[str, object]) -> str:
    rule = parse_rule(f"$v {pattern} {template} false", HERE)
    found = rule.match({"v": value})
    assert found is not None
    filled = rule.tag.fill("app.shop.prod", record, found)
    # the per-chunk writer the filter renders with writes the same text
    assert rule.writer("app.shop.prod")(record, found) == filled
    return filled


@pytest.mark.parametrize(
    ("template", "pattern", "value", "record", "wanted"),
    [
        ("alert.$1", "^(error|fatal)$", "fatal", {}, "alert.fatal"),
        ("$TAG[1].$TAG[2].warn", "^warn", "warn", {}, "shop.prod.warn"),
        ("audit.$TAG", "^audit:", "audit: x", {}, "audit.app.shop.prod"),
        ("user.$2.$1", r"^(\w+)@(\w+)\.com$", "bob@corp.com", {}, "user.corp.bob"),
        ("err.$1xx.$0", r"^E(\d)\d\d$", "E503", {}, "err.5xx.E503"),
        ("odd.$0", r"^X\d$", "X1", {}, "odd."),  # no group: $0 is empty
        ("x.$TAG[9].$3", "^(a)$", "a", {}, "x.."),  # missing part and group add nothing
        (
            "k8s.$kubernetes['namespace_name'].$1",
            "^(web)$",
            "web",
            {"kubernetes": {"namespace_name": "shop"}},
            "k8s.shop.web",
        ),
        ("by.${app}.$host", "^a$", "a", {"app": "api", "host": 7}, "by.api.7"),
        ("cost.$", "^a$", "a", {}, "cost.$"),
    ],
)
def test_tag_template(
    template: str, pattern: str, value: str, record: dict[str, object], wanted: str
) -> None:
    assert render(template, pattern, value, record) == wanted


def test_a_chunk_writer_renders_each_capture_of_its_own() -> None:
    rule = parse_rule("$v ^(a|b)(x)?$ t.$1.$2.$TAG[1] false", HERE)
    write = rule.writer("app.shop")
    written = []
    for value in ("a", "bx", "a", "b", "bx"):
        found = rule.match({"v": value})
        assert found is not None
        written.append(write({"v": value}, found))
    assert written == ["t.a..shop", "t.b.x.shop", "t.a..shop", "t.b..shop", "t.b.x.shop"]
    found = rule.match({"v": "a"})
    assert found is not None
    assert rule.writer("app.other")({"v": "a"}, found) == "t.a..other"


def test_template_keeps_literal_text_between_pieces() -> None:
    assert [type(p).__name__ for p in Template("a.$TAG[0]-$1.$k", captures=True).pieces] == [
        "str",
        "TagRef",
        "str",
        "GroupRef",
        "str",
        "RecordAccessor",
    ]


@pytest.mark.parametrize(
    ("rule", "wanted"),
    [
        ("$a ^x$ new", "expects '$KEY REGEX NEW_TAG KEEP'"),
        ("$a (unclosed new true", "Rule '$a (unclosed new true'"),
        ("$a[ ^x$ new true", "invalid record accessor"),
    ],
)
def test_bad_rule_is_one_config_error(rule: str, wanted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rule(rule, HERE)
    assert wanted in str(caught.value)


CONFIG = """
[INPUT]
    Name lib
    Tag  app.shop.prod
[FILTER]
    Name  rewrite_tag
    Match app.*
    Rule  $level ^(error|fatal)$ alert.$1 false
    Rule  $status ^5\\d\\d$ http.5xx true
    Rule  $kubernetes['labels']['app'] ^(web)$ k8s.$1 true
[FILTER]
    Name  modify
    Match http.*
    Add   routed http
[OUTPUT]
    Name  lib
    Match *
"""


async def test_first_rule_wins_keep_and_string_only_through_the_pipeline() -> None:
    records = [
        {"id": 1, "level": "error", "status": "503"},  # rule 1 wins; original dropped
        {"id": 2, "level": "info", "status": "500"},  # rule 2; original kept
        {"id": 3, "level": "info", "status": 500},  # a number never matches
        {"id": 4, "kubernetes": {"labels": {"app": "web"}}},
        {"id": 5, "level": "debug"},
    ]
    async with Pipeline.from_string(CONFIG).running() as p:
        p.push("app.shop.prod", records)
        assert await p.drain() == 0
    got = sorted((tag, record["id"]) for tag, _, record in p.output("lib").events)
    assert got == [
        ("alert.error", 1),
        ("app.shop.prod", 2),
        ("app.shop.prod", 3),
        ("app.shop.prod", 4),
        ("app.shop.prod", 5),
        ("http.5xx", 2),
        ("k8s.web", 4),
    ]
    by_tag = {(tag, record["id"]): record for tag, _, record in p.output("lib").events}
    # the copy met the modify filter on its way in again; the kept original did not change
    assert by_tag[("http.5xx", 2)]["routed"] == "http"
    assert "routed" not in by_tag[("app.shop.prod", 2)]
    assert p.metrics()["emitter_for_rewrite_tag.0"]["records"] == 3


LOOP = """
[INPUT]
    Name lib
    Tag  a
[FILTER]
    Name  rewrite_tag
    Match *
    Rule  $msg . x.$TAG false
[OUTPUT]
    Name  lib
    Match *
"""


async def test_a_rule_that_rewrites_its_own_output_ends() -> None:
    async with Pipeline.from_string(LOOP).running() as p:
        p.push("a", [{"msg": "hi"}])
        assert await p.drain() == 0
    assert p.output("lib").events == []  # KEEP false all the way: the last copy is cut
    assert p.metrics()["emitter_for_rewrite_tag.0"]["loop_dropped_records"] == 1


def test_bad_regex_in_a_rule_is_one_line_with_file_and_line_at_dry_run(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[INPUT]\n    Name dummy\n"
        "[FILTER]\n    Name rewrite_tag\n    Match *\n    Rule $log ^(bad tag.$1 false\n"
        "[OUTPUT]\n    Name stdout\n    Match *\n"
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{conf}:6" in lines[0] and "rewrite_tag" in lines[0] and "Traceback" not in lines[0]
