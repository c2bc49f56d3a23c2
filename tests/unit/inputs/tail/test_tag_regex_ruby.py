"""``Tag_Regex`` is an Onigmo (Ruby) regex, translated as every other Fluent Bit regex is."""

from __future__ import annotations

from logtide.agent.inputs.tail.tagging import TagComposer


def test_tag_regex_takes_ruby_escapes() -> None:
    compose = TagComposer(
        "kube.<namespace>.<pod>.<id>",
        r"(?<pod>[a-z0-9-]+)_(?<namespace>[^_]+)_[a-z]+-(?<id>\h{6})\.log\z",
    )
    assert compose("/var/log/containers/web-1_shop_nginx-abc123.log") == "kube.shop.web-1.abc123"
    assert compose("/var/log/containers/web-1_shop_nginx-abc123.log.1") == "kube._._._"
