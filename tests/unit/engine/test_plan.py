"""The engine's planner: one config -> validated sections, registries, stream processor and
the typed context every plugin gets, with no I/O (what ``--dry-run`` runs)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from logtide.agent.config.loader import load_file, load_string
from logtide.agent.config.validate import PluginSpec
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.metrics import Metrics
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan, cut_points, plugin_context
from logtide.agent.filters.parser import ParserFilter
from logtide.agent.parsers.multiline import MultilineRegistry
from logtide.agent.parsers.registry import ParserRegistry

ARTICLE = Path(__file__).resolve().parents[3] / "examples" / "article" / "fluent-bit.conf"


def test_article_plan_gives_every_plugin_the_configs_registries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S3_BUCKET", "bucket")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    plan = build_plan(load_file(str(ARTICLE)))
    assert isinstance(plan.parsers, ParserRegistry)
    assert isinstance(plan.multiline_parsers, MultilineRegistry)
    # parsers.conf's own 'dummy' beside the built-ins; its 'docker' replaces the built-in
    assert {"dummy", "docker", "json", "cri"} <= set(plan.parsers.names())
    assert plan.parsers.get("docker").config.time_format is None
    assert plan.checkpoint_db == "/var/log/flb_kube.db"
    assert plan.stream_processor is not None
    assert [s.instance for s in [*plan.inputs, *plan.filters, *plan.outputs]] == [
        "tail.0",
        "parser.0",
        "s3.0",
        "cloudwatch_logs.0",
    ]
    cuts: dict[str, list[int]] = {}
    for spec in [*plan.inputs, *plan.filters, *plan.outputs]:
        context = plugin_context(
            plan,
            spec,
            spawn=lambda coro, name: None,
            metrics=Metrics(),
            once=False,
            cut_points=cuts,
        )
        assert context.instance == spec.instance
        assert context.parsers is plan.parsers
        assert context.multiline_parsers is plan.multiline_parsers
        assert context.checkpoint_db == "/var/log/flb_kube.db"
        assert context.cut_points is cuts
        assert context.flush_interval == 1.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            context.parsers = None


def test_built_plugins_share_the_plans_registries_and_the_engines_cut_points(
    tmp_path: Path,
) -> None:
    plan = build_plan(
        load_string(
            f"[SERVICE]\n    Flush 3\n"
            f"[PARSER]\n    Name mine\n    Format logfmt\n"
            f"[INPUT]\n    Name tail\n    Path {tmp_path}/*.log\n    DB {tmp_path}/tail.db\n"
            f"    Parser mine\n"
            f"[FILTER]\n    Name parser\n    Match *\n    Key_Name log\n    Parser mine\n"
            f"[OUTPUT]\n    Name null\n    Match *\n"
        )
    )
    engine = Engine(plan)
    engine.build()
    [tail] = engine.inputs
    assert tail.context.parsers is plan.parsers
    assert tail.context.checkpoint_db == f"{tmp_path}/tail.db"
    assert tail.context.flush_interval == 3.0
    assert tail.context.cut_points == {}
    [(_, parser_filter)] = engine._filters.plugins
    assert isinstance(parser_filter, ParserFilter)
    assert parser_filter.parsers == (plan.parsers.get("mine"),)
    assert parser_filter.context.cut_points is tail.context.cut_points
    # building is not starting: nothing on disk yet
    assert list(tmp_path.iterdir()) == []


async def test_inputs_see_the_outputs_cut_points_when_they_run() -> None:
    plan = build_plan(
        load_string("[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n")
    )
    [source], [sink] = plan.inputs, plan.outputs
    seen: list[dict[str, list[int]]] = []

    class Holding(sink.cls):
        def watermarks(self) -> dict[str, int]:
            return {"tail.0:1:a|x": 7, "tail.0:1:a|y": 3}

    class Seeing(source.cls):
        async def run(self, emit: object) -> None:
            seen.append({k: list(v) for k, v in self.context.cut_points.items()})

    plan.inputs[0] = PluginSpec("input", Seeing, source.settings, source.instance, source.config)
    plan.outputs[0] = PluginSpec("output", Holding, sink.settings, sink.instance, sink.config)
    assert await Engine(plan, once=True).run() == 0
    assert seen == [{"tail.0:1:a": [3, 7]}]


def test_cut_points_are_per_source_sorted_and_merged_across_outputs() -> None:
    marks = [{"tail.0:1:a|x": 30, "tail.0:2:b|x": 5}, {"tail.0:1:a|y": 10, "tail.0:1:a|z": 30}]
    assert cut_points(marks) == {"tail.0:1:a": [10, 30], "tail.0:2:b": [5]}


def test_planning_does_no_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object) -> None:
        raise AssertionError("planning opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"[SERVICE]\n    storage.path {tmp_path}/storage\n"
        f"[INPUT]\n    Name tail\n    Path {tmp_path}/logs/*.log\n    DB {tmp_path}/state/t.db\n"
        "[STREAM_TASK]\n    Name t\n"
        "    Exec CREATE STREAM s WITH (tag='s') AS SELECT * FROM TAG:'x';\n"
        f"[OUTPUT]\n    Name file\n    Match *\n    Path {tmp_path}/out\n"
        f"[OUTPUT]\n    Name s3\n    Match *\n    bucket b\n    region us-east-1\n"
        f"    store_dir {tmp_path}/store\n"
        f"[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n"
        f"    log_group_name g\n    log_stream_prefix p-\n    journal_dir {tmp_path}/journal\n"
    )
    plan = build_plan(load_file(str(conf)))
    assert len(plan.outputs) == 3 and plan.stream_processor is not None
    assert list(tmp_path.iterdir()) == [conf]


def test_the_first_problem_in_file_order_is_the_one_reported() -> None:
    # Parsers are built before plugin sections are read, and a section's parser names are
    # checked before the next section is: the order the error messages always had.
    bad_parser = "[PARSER]\n    Name p\n    Format regex\n"
    unknown_option = "[OUTPUT]\n    Name null\n    Match *\n    Bogus 1\n"
    with pytest.raises(ConfigError, match="Format regex needs a Regex"):
        build_plan(load_string(bad_parser + unknown_option))
    bad_reference = "[INPUT]\n    Name tail\n    Path /x\n    Parser nosuch\n"
    with pytest.raises(ConfigError) as info:
        build_plan(load_string(bad_reference + unknown_option))
    assert "input 'tail': Parser: unknown parser 'nosuch'" in str(info.value)
    assert "<string>:4" in str(info.value)
