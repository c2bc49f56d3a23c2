"""Tags composed from file paths (Tag with ``*``, Tag_Regex)."""

from __future__ import annotations

import pytest

from logtide.agent.inputs.tail.tagging import TagComposer


@pytest.mark.parametrize(
    ("tag", "path", "expected"),
    [
        (
            "kube.*",
            "/var/log/containers/app_ns_c-123.log",
            "kube.var.log.containers.app_ns_c-123.log",
        ),
        ("*", "/var/log/a.log", "var.log.a.log"),
        ("pre.*.post", "/x/y.log", "pre.x.y.log.post"),
        ("order", "/var/log/a.log", "order"),
    ],
)
def test_tag_star_expansion(tag: str, path: str, expected: str) -> None:
    assert TagComposer(tag, None)(path) == expected


def test_tag_regex_fills_named_groups_and_underscore_for_missing() -> None:
    compose = TagComposer(
        "kube.<namespace>.<pod>.<nope>",
        r"(?<pod>[a-z0-9-]+)_(?<namespace>[^_]+)_(?<container>.+)-[a-z0-9]+\.log$",
    )
    assert compose("/var/log/containers/web-1_shop_nginx-abc123.log") == "kube.shop.web-1._"
