import calendar

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.parsers.registry import ParserRegistry
from tests.unit.parsers.helpers import section


def test_builtins():
    registry = ParserRegistry.builtin()
    assert {"json", "docker", "cri"} <= set(registry.names())
    t, record = registry.get("docker").parse(
        b'{"log":"x\\n","stream":"stdout","time":"2026-11-27T00:00:00.000001Z"}'
    )
    assert t == pytest.approx(calendar.timegm((2026, 11, 27, 0, 0, 0)) + 1e-6)
    assert record == {"log": "x\n", "stream": "stdout", "time": "2026-11-27T00:00:00.000001Z"}


def test_user_definition_overrides_builtin():
    registry = ParserRegistry.from_sections([section(Name="docker", Format="json")])
    assert registry.get("docker").parse(b'{"time":"2026-11-27T00:00:00.1Z"}')[0] is None


def test_unknown_parser_names_known_ones():
    with pytest.raises(ConfigError) as info:
        ParserRegistry.builtin().get("nope", None)
    assert "unknown parser 'nope'" in str(info.value) and "docker" in str(info.value)


def test_unknown_option_lists_valid_keys_with_location():
    with pytest.raises(ConfigError) as info:
        ParserRegistry.from_sections([section(Name="x", Format="json", Time_Kep="On")])
    message = str(info.value)
    assert message.startswith("parsers.conf:7:") and "Time_Keep" in message


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"Name": "x", "Format": "yaml"}, "expected one of"),
        ({"Name": "x"}, "Format"),
        ({"Name": "x", "Format": "regex"}, "needs a Regex"),
        ({"Name": "x", "Format": "json", "Time_Format": "%Q"}, "%Q"),
        ({"Name": "x", "Format": "json", "Time_Format": "%H", "Time_Offset": "x"}, "Offset"),
        ({"Name": "x", "Format": "json", "Time_Zone": "Europe/Paris"}, "requires Time_Format"),
        ({"Name": "x", "Format": "json", "Time_Format": "%H", "Time_Zone": "Mars/Base"}, "Mars"),
        ({"Name": "x", "Format": "json", "Decode_Field": "rot13 log"}, "rot13"),
    ],
)
def test_invalid_definitions(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        ParserRegistry.from_sections([section(**options)])


def test_duplicate_names():
    with pytest.raises(ConfigError, match="defined twice"):
        ParserRegistry.from_sections(
            [section(Name="a", Format="json"), section(Name="a", Format="logfmt")]
        )


def test_empty_values_mean_unset():
    registry = ParserRegistry.from_sections([section(Name="a", Format="json", Time_Format="")])
    assert registry.get("a").parse('{"time":"x"}') == (None, {"time": "x"})
