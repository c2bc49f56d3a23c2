"""Tags composed from file paths (Tag with ``*``, Tag_Regex)."""

from __future__ import annotations

import os

import pytest

from logtide.agent.inputs.tail.tagging import TagComposer, path_text


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


def test_a_name_that_is_not_utf8_is_tagged_with_replacement_characters() -> None:
    """No output could send a surrogate escape: the bad byte shows as U+FFFD, as in lines."""
    odd = os.fsdecode(b"/var/log/bad\xffname.log")
    assert TagComposer("kube.*", None)(odd) == "kube.var.log.bad\ufffdname.log"
    assert path_text(odd) == "/var/log/bad\ufffdname.log"
    assert path_text("/var/log/ünï.log") == "/var/log/ünï.log"
