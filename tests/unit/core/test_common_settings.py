"""The engine, the planner and the plugins read options as typed fields, bound once: no
module looks a setting up by a string key (a typo there fails only at run time)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.config.validate import STREAM_TASK_OPTIONS, StreamTaskSettings
from logtide.agent.core.common_options import COMMON_INPUT_OPTIONS, InputSettings
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry, Option, binding_problems, resolve
from logtide.agent.core.plugins import REGISTRY, InputPlugin, Kind, load_plugin
from logtide.agent.engine.engine import Engine
from logtide.agent.engine.plan import build_plan

ROOT = Path(__file__).resolve().parents[3]
HERE = Location("test.conf", 1)


def _names_settings(node: ast.expr) -> bool:
    """``settings``, ``spec.settings``, ``self.service`` and the like."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return name.lower().endswith("settings") or name == "service"


def _string_key_reads(source: str) -> list[str]:
    """``line: expression`` for every look-up of a setting by key in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript):
            target = node.value
            if isinstance(target, ast.Attribute) and target.attr == "values":
                target = target.value
            keyed = isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
            if keyed and _names_settings(target):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _names_settings(node.func.value)
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reads_settings_by_string_key() -> None:
    reads = [
        f"{path.relative_to(ROOT)}:{read}"
        for package in ("agent", "sinks", "streamsql")
        for path in sorted((ROOT / package).rglob("*.py"))
        for read in _string_key_reads(path.read_text())
    ]
    assert reads == []


def test_the_scan_sees_the_reads_it_forbids() -> None:
    source = (
        'a = spec.settings["retry_limit"]\n'
        'b = settings.get("match")\n'
        'c = self.settings.values["db"]\n'
        'd = self.service["flush"]\n'
        'e = settings.ordered\nf = settings.is_set("tag")\ng = config.retries\n'
    )
    assert _string_key_reads(source) == [
        "1: spec.settings['retry_limit']",
        "2: settings.get('match')",
        "3: self.settings.values['db']",
        "4: self.service['flush']",
    ]


def test_stream_task_sections_bind_their_table() -> None:
    assert binding_problems(STREAM_TASK_OPTIONS, StreamTaskSettings) == []
    plan = build_plan(
        load_string(
            "[INPUT]\n    Name dummy\n    Tag x\n"
            "[STREAM_TASK]\n    Name t\n"
            "    Exec CREATE STREAM s WITH (tag='s') AS SELECT * FROM TAG:'x';\n"
        )
    )
    assert plan.stream_processor is not None


def test_a_spec_carries_the_settings_its_class_bound() -> None:
    plan = build_plan(
        load_string(
            "[INPUT]\n    Name dummy\n    Tag t\n    Routable Off\n"
            "[FILTER]\n    Name grep\n    Match_Regex ^t$\n    Regex log x\n"
            "[OUTPUT]\n    Name null\n    Match *\n    Retry_Limit no_retries\n"
            "    storage.total_limit_size 1M\n    Alias sink\n"
        )
    )
    [source], [grep], [sink] = plan.inputs, plan.filters, plan.outputs
    assert (source.config.tag, source.config.routable) == ("t", False)
    assert type(grep.config).__name__ == "GrepSettings" and grep.config.match_regex == "^t$"
    assert (sink.instance, sink.config.retries, sink.config.storage_total_limit_size) == (
        "sink",
        0,
        1024 * 1024,
    )
    engine = Engine(plan, once=True)
    engine.build()
    assert [runner.retry_limit for runner in engine._runners] == [0]
    # the plugins take the settings bound during validation instead of binding them again
    assert engine.inputs[0].config is source.config
    assert engine._filters.plugins[0][1].config is grep.config


@dataclass(frozen=True, slots=True, kw_only=True)
class NoCheckpointSettings(InputSettings):
    db: str | None


class KeepsNoCheckpoint(InputPlugin[NoCheckpointSettings]):
    """An input with an option named DB that is not a checkpoint file."""

    name: ClassVar[str] = "nodb"
    options: ClassVar[tuple[Option, ...]] = (
        *COMMON_INPUT_OPTIONS,
        Option("DB", description="Some database this input reads."),
    )


@pytest.fixture
def no_db_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY["input"], "nodb", f"{__name__}:KeepsNoCheckpoint")


def test_the_checkpoint_db_is_what_the_input_class_names(no_db_input: None) -> None:
    conf = "[INPUT]\n    Name nodb\n    DB /var/lib/other.db\n[INPUT]\n    Name tail\n"
    plan = build_plan(load_string(conf + "    Path /l/*.log\n    DB /var/log/t.db\n"))
    assert plan.checkpoint_db == "/var/log/t.db"
    assert build_plan(load_string(conf + "    Path /l/*.log\n")).checkpoint_db is None


def _validated(kind: Kind, name: str, extra: list[Entry]) -> object:
    """The plugin's settings from ``extra`` and a value for each required option."""
    plugin = load_plugin(kind, name)
    entries = [Entry("Name", name, HERE), *extra]
    entries += [
        Entry(option.name, option.choices[0] if option.choices else "x", HERE)
        for option in plugin.options
        if option.required and option.key != "name"
    ]
    return plugin.validate(resolve(f"{kind} '{name}'", plugin.options, entries, HERE))


def _with_required(kind: Kind, name: str, extra: list[Entry]) -> ConfigError:
    with pytest.raises(ConfigError) as failure:
        _validated(kind, name, extra)
    return failure.value


ROUTED = [
    pytest.param(kind, name, id=f"{kind}:{name}")
    for kind in ("filter", "output")
    for name in REGISTRY[kind]
]


@pytest.mark.parametrize(("kind", "name"), ROUTED)
def test_every_filter_and_output_checks_match_regex_first(kind: Kind, name: str) -> None:
    """Its settings class runs the common checks before its own (as ``--dry-run`` reports)."""
    error = _with_required(kind, name, [Entry("Match_Regex", "([", HERE)])
    assert error.message.startswith(f"{kind}: Match_Regex '([' is not a valid regex")


@pytest.mark.parametrize("name", sorted(REGISTRY["output"]))
def test_every_output_parses_retry_limit(name: str) -> None:
    error = _with_required("output", name, [Entry("Retry_Limit", "soon", HERE)])
    assert "Retry_Limit must be a number, no_limits, False or no_retries" in error.message


# Fluent Bit's upstream networking properties, each with a value of its type.
FLUENT_BIT_NET_OPTIONS = {
    "net.dns.mode": "TCP",
    "net.dns.resolver": "LEGACY",
    "net.dns.prefer_ipv4": "on",
    "net.dns.prefer_ipv6": "off",
    "net.keepalive": "off",
    "net.keepalive_idle_timeout": "30s",
    "net.keepalive_max_recycle": "100",
    "net.tcp_keepalive": "on",
    "net.tcp_keepalive_time": "30",
    "net.tcp_keepalive_interval": "10",
    "net.tcp_keepalive_probes": "3",
    "net.io_timeout": "60s",
    "net.connect_timeout": "5",
    "net.connect_timeout_log_error": "off",
    "net.source_address": "0.0.0.0",
    "net.max_worker_connections": "0",
    "net.proxy_env_ignore": "on",
}
CONNECTING = ["cloudwatch_logs", "es", "forward", "http", "kinesis_firehose", "kinesis_streams"]
CONNECTING += ["opensearch", "s3"]


@pytest.mark.parametrize("name", CONNECTING)
def test_an_output_that_connects_takes_every_net_option_fluent_bit_has(name: str) -> None:
    """A cluster's config sets them (``net.keepalive``, ``net.dns.mode``); Fluent Bit takes
    them on any output that connects, so the config must start here too."""
    entries = [Entry(key, value, HERE) for key, value in FLUENT_BIT_NET_OPTIONS.items()]
    if name == "cloudwatch_logs":
        entries += [Entry("log_group_name", "g", HERE), Entry("log_stream_prefix", "p-", HERE)]
    _validated("output", name, [*entries, Entry("Log_Suppress_Interval", "10s", HERE)])


def test_a_net_option_is_still_checked_and_refused_where_nothing_connects() -> None:
    with pytest.raises(ConfigError, match=r"option 'net\.dns\.mode': expected one of UDP, TCP"):
        _validated("output", "s3", [Entry("net.dns.mode", "QUIC", HERE)])
    with pytest.raises(ConfigError, match=r"unknown option 'net\.keepalive'"):
        _validated("output", "null", [Entry("net.keepalive", "off", HERE)])


@pytest.mark.parametrize(("kind", "name"), [("input", "dummy"), ("filter", "grep")])
def test_inputs_and_filters_take_log_suppress_interval(kind: Kind, name: str) -> None:
    extra = [Entry("Regex", "log x", HERE)] if name == "grep" else []
    _validated(kind, name, [*extra, Entry("Log_Suppress_Interval", "10s", HERE)])


def test_an_inert_option_is_checked_by_type_and_fills_no_field() -> None:
    table = (*COMMON_INPUT_OPTIONS, Option("Odd", "int", 0, "Fluent Bit's.", inert=True))
    assert binding_problems(table, InputSettings) == []
    settings = resolve(
        "input 'x'", table, [Entry("Name", "x", HERE), Entry("Odd", "7", HERE)], HERE
    )
    assert not hasattr(InputSettings.bind(settings), "odd")
    with pytest.raises(ConfigError, match="option 'Odd': expected an integer"):
        resolve("input 'x'", table, [Entry("Name", "x", HERE), Entry("Odd", "many", HERE)], HERE)
