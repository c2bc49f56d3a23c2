"""The kubernetes filter's metadata cache stays bounded while pods come and go."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from logtide.agent.filters.kubernetes_client import MAX_ENTRIES, MetadataCache


async def _never(key: str) -> dict[str, Any]:
    raise AssertionError(f"no fetch expected ({key})")


def _no_spawn(coro: Coroutine[Any, Any, Any], name: str) -> None:
    coro.close()


def test_pods_long_gone_are_let_go_and_the_ones_in_use_stay() -> None:
    # With Kube_Meta_Cache_TTL 0 (the default) every pod ever seen stayed for the life of
    # the agent: a CronJob's pod a minute is ~43,000 pods a month on a node.
    now = [0.0]
    cache: MetadataCache[str] = MetadataCache(
        "pods",
        _never,
        spawn=_no_spawn,
        logger=logging.getLogger("test"),
        clock=lambda: now[0],
    )
    cache.put("live", {"pod": "live"})
    for pod in range(3 * MAX_ENTRIES):
        now[0] += 1.0
        cache.put(f"gone-{pod}", {"pod": pod})
        assert cache.get("live") == {"pod": "live"}, "a pod in use is never let go"
        assert len(cache._entries) <= MAX_ENTRIES
    assert cache.get(f"gone-{3 * MAX_ENTRIES - 1}") is not None, "the newest stay"
    assert len(cache._entries) > MAX_ENTRIES // 2
