"""The option table's defaults and cross-checks."""

from __future__ import annotations

import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import binding_problems
from logtide.agent.inputs.tail import TailInput
from logtide.agent.inputs.tail.options import OPTIONS, TailSettings
from tests.support.plugins import settings_for


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/x", "buffer_chunk_size": "64k", "buffer_max_size": "32k"}, "Buffer_Max_Size"),
        ({"path": "/x", "docker_mode": "on", "multiline__parser": "cri"}, "Docker_Mode"),
        ({"path": "/x", "tag_regex": "(?<a>[", "tag": "a.<a>"}, "Tag_Regex"),
    ],
)
def test_invalid_option_combinations(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        settings_for(TailInput, **options)
    assert "test.conf:1" in str(info.value)


def test_defaults_follow_fluent_bit() -> None:
    settings = settings_for(TailInput, path="/var/log/*.log")
    assert settings["buffer_chunk_size"] == 32768
    assert settings["buffer_max_size"] == 32768
    assert settings["refresh_interval"] == 60
    assert settings["rotate_wait"] == 5
    assert settings["docker_mode_flush"] == 4
    assert settings["key"] == "log"
    assert settings["db.sync"] == "normal"
    assert settings["db.journal_mode"] == "WAL"
    assert settings["read_from_head"] is False


def test_the_table_binds_to_typed_settings() -> None:
    assert TailInput.config_class is TailSettings
    assert binding_problems(OPTIONS, TailSettings) == []
    settings = settings_for(
        TailInput, path="/a/*.log, /b/*.log", db="/s/t.db", db__sync="FULL", multiline__parser="cri"
    )
    config = TailSettings.bind(settings)
    assert config.path == ["/a/*.log", "/b/*.log"] and config.db == "/s/t.db"
    assert config.db_sync == "full" and config.multiline_parser == ["cri"]
    assert config.refresh_interval == 60.0 and config.tag_regex is None


def test_multiline_parser_lines_add_up_as_in_fluent_bit() -> None:
    """Fluent Bit takes every ``multiline.parser`` line (a repeatable list); only the last
    one was kept, so ``docker`` then ``cri`` on two lines read CRI files as plain text."""
    two_lines = settings_for(TailInput, path="/l/*.log", multiline__parser=["docker", "cri, go"])
    assert TailSettings.bind(two_lines).multiline_parser == ["docker", "cri", "go"]
    one_line = settings_for(TailInput, path="/l/*.log", multiline__parser="docker, cri")
    assert TailSettings.bind(one_line).multiline_parser == ["docker", "cri"]
