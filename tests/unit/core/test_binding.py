"""Options bound to typed settings: the naming rule, the agreement check, and every plugin."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field
from typing import Literal

import pytest

from logtide.agent.config.service import SERVICE_OPTIONS, ServiceSettings
from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import (
    BoundSettings,
    Entry,
    Option,
    binding_problems,
    resolve,
)
from logtide.agent.core.plugins import REGISTRY, FilterPlugin, Kind, load_plugin
from logtide.agent.parsers.registry import PARSER_OPTIONS, ParserSectionSettings

HERE = Location("test.conf", 1)

TABLE = (
    Option("Read_From_Head", "bool", False),
    Option("storage.type", "enum", "memory", choices=("memory", "filesystem")),
    Option("Buffer_Size", "size", 32768),
    Option("Refresh", "time", 60.0),
    Option("Path", required=True),
    Option("Tag_Regex"),
    Option("Exclude", "list", []),
    Option("Set", multiple=True),
    Option("class", field="klass"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample(BoundSettings):
    read_from_head: bool
    storage_type: Literal["memory", "filesystem"]
    buffer_size: int
    refresh: float
    path: str
    tag_regex: str | None
    exclude: list[str]
    set: list[str]
    klass: str | None
    slow: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.refresh <= 0:
            raise ConfigError("Refresh must be positive", self.location)
        self._derive("slow", self.refresh > 30)


def resolved(*pairs: tuple[str, str]) -> Sample:
    entries = [Entry(key, value, HERE) for key, value in pairs]
    return Sample.bind(resolve("input 'x'", TABLE, entries, HERE))


def test_the_naming_rule_and_its_override() -> None:
    assert Option("Read_From_Head").attribute == "read_from_head"
    assert Option("storage.total_limit_size").attribute == "storage_total_limit_size"
    assert Option("DB.locking").attribute == "db_locking"
    assert Option("class", field="klass").attribute == "klass"


def test_bind_fills_typed_fields_and_derives() -> None:
    config = resolved(
        ("path", "/var/log/*.log"),
        ("Read_From_Head", "On"),
        ("STORAGE.TYPE", "Filesystem"),
        ("buffer_size", "64k"),
        ("set", "a 1"),
        ("Set", "b 2"),
        ("class", "x"),
    )
    assert config.read_from_head is True and config.storage_type == "filesystem"
    assert config.buffer_size == 65536 and config.refresh == 60.0 and config.slow is True
    assert config.path == "/var/log/*.log" and config.tag_regex is None
    assert config.exclude == [] and config.set == ["a 1", "b 2"] and config.klass == "x"
    assert config.location == HERE
    with pytest.raises(FrozenInstanceError):
        config.path = "/other"  # type: ignore[misc]


def test_checks_across_options_run_when_binding() -> None:
    with pytest.raises(ConfigError, match="Refresh must be positive"):
        resolved(("path", "p"), ("refresh", "0"))


def test_a_table_and_class_that_agree_have_no_problems() -> None:
    assert binding_problems(TABLE, Sample) == []
    assert binding_problems(COMMON_FILTER_OPTIONS, FilterSettings) == []


def test_an_option_without_field_and_a_field_without_option_are_reported() -> None:
    problems = binding_problems((*TABLE[1:], Option("Refresh_Interval", "time", 60.0)), Sample)
    assert problems == [
        "option Refresh_Interval fills no field of Sample (refresh_interval)",
        "field Sample.read_from_head has no option",
    ]


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (Option("Read_From_Head", "int", 0), "(int) gives int, not <class 'bool'>"),
        (Option("Read_From_Head", "bool", None), "must accept None"),
        (Option("Tag_Regex", "str", "x"), "should not be Optional"),
        (Option("Path", "list", [], required=True), "(list) gives list, not <class 'str'>"),
    ],
)
def test_a_field_of_another_type_is_reported(option: Option, problem: str) -> None:
    table = tuple(option if o.key == option.key else o for o in TABLE)
    (found,) = binding_problems(table, Sample)
    assert problem in found


def test_two_options_filling_one_field_and_non_identifiers_are_reported() -> None:
    problems = binding_problems((*TABLE, Option("read-from-head", "bool", False)), Sample)
    assert problems == ["Sample.read_from_head is filled by Read_From_Head and read-from-head"]
    (problem,) = binding_problems((*TABLE, Option("Class", field=None)), Sample)
    assert "fills 'class', not a field name" in problem


def test_a_plugin_whose_table_and_settings_disagree_fails_when_defined() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Partial(FilterSettings):
        key_name: str

    with pytest.raises(TypeError, match="option Reserve_Data fills no field of Partial"):

        class Broken(FilterPlugin[Partial]):
            name = "broken"
            options = (
                *COMMON_FILTER_OPTIONS,
                Option("Key_Name", required=True),
                Option("Reserve_Data", "bool", False),
            )


PLUGINS = [
    pytest.param(kind, name, id=f"{kind}:{name}")
    for kind, names in REGISTRY.items()
    for name in names
]


@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_every_plugin_binds_its_whole_table(kind: Kind, name: str) -> None:
    plugin = load_plugin(kind, name)
    assert plugin.config_class is not None, f"{kind} {name} reads no typed settings"
    assert binding_problems(plugin.options, plugin.config_class) == []


def test_the_service_and_parser_sections_bind_their_whole_tables() -> None:
    assert binding_problems(SERVICE_OPTIONS, ServiceSettings) == []
    assert binding_problems(PARSER_OPTIONS, ParserSectionSettings) == []
