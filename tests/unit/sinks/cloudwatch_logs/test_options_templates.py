import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.record_accessor import Template
from logtide.sinks.cloudwatch_logs import CloudWatchLogsOutput
from tests.support.plugins import settings_for

BASE = {"region": "us-east-1", "log_group_name": "g"}


def test_article_config_resolves_with_fluent_bit_defaults() -> None:
    settings = settings_for(
        CloudWatchLogsOutput,
        Match="states.notca",
        region="us-east-1",
        log_group_name="fluent-bit-cloudwatch-demo",
        log_stream_prefix="from-fluent-bit-",
        auto_create_group="On",
    )
    assert settings["auto_create_group"] is True
    assert settings["auto_retry_requests"] is True
    assert settings["log_retention_days"] == 0
    assert settings["log_stream_prefix"] == "from-fluent-bit-"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "exactly one of 'log_stream_name' or 'log_stream_prefix'"),
        ({"log_stream_name": "s", "log_stream_prefix": "p"}, "exactly one"),
        ({"log_stream_name": "s", "log_retention_days": "2"}, "not a CloudWatch retention"),
        ({"log_stream_name": "s", "log_group_class": "COLD"}, "log_group_class"),
    ],
)
def test_invalid_combinations_are_config_errors(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        settings_for(CloudWatchLogsOutput, **BASE, **extra)
    assert "test.conf:1" in str(info.value)


def test_group_name_is_required_even_with_a_template() -> None:
    with pytest.raises(ConfigError, match="'log_group_name' is required"):
        settings_for(CloudWatchLogsOutput, region="r", log_group_template="$x", log_stream_name="s")


def test_template_renders_keys_nested_keys_and_tag_parts() -> None:
    template = Template("/eks/$kubernetes['namespace_name']/$TAG[1]-$TAG")
    record = {"kubernetes": {"namespace_name": "shop"}}
    assert template.render("kube.app.x", record) == "/eks/shop/app-kube.app.x"


def test_template_with_a_missing_key_falls_back() -> None:
    template = Template("$kubernetes['pod_name']")
    assert template.render("t", {"kubernetes": {}}) is None
    assert Template("$TAG[3]").render("a.b", {}) is None
    assert Template("$list[1]").render("t", {"list": ["a", 5]}) == "5"
