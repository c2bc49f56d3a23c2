"""The kubernetes filter against a fake API server on 127.0.0.1 (TLS, bearer token)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.filters.kubernetes import KubernetesFilter
from tests.support.fake_kube_api import TOKEN, FakeKubeApi, TlsFiles, fake_kube_api, make_tls
from tests.support.plugins import build, plugin_context, settings_for

DATA = Path(__file__).parent / "data"
DOCKER_ID = "9f2c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e"
POD_NAME = "ordering-app-7d9c6b9f5b-x2l8q"
TAG = f"kube.var.log.containers.{POD_NAME}_default_ordering-app-{DOCKER_ID}.log"
SALE = '{"item_id":"39","state":"CA","price":"78"}\n'


def pod(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "pod_ordering_app.json").read_text())
    body["metadata"].update(changes)
    return body


def namespace() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "namespace_default.json").read_text())
    return body


def line(log: str = SALE, stream: str = "stdout") -> tuple[float, dict[str, Any]]:
    return (1.5, {"log": log, "stream": stream, "time": "2020-11-11T00:17:35.495898374Z"})


@pytest.fixture
def api(tls: TlsFiles) -> Iterator[FakeKubeApi]:
    state = FakeKubeApi()
    state.add_pod(pod())
    state.namespaces["default"] = namespace()
    with fake_kube_api(state, tls) as server:
        yield server


def options(api: FakeKubeApi, tls: TlsFiles, token_file: Path, **extra: Any) -> dict[str, Any]:
    return {
        "Kube_URL": api.url,
        "Kube_CA_File": str(tls.ca_file),
        "Kube_Token_File": str(token_file),
        **extra,
    }


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_tag_fields_first_then_api_metadata_once_cached(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path
) -> None:
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **options(api, tls, token_file))
        first = kube(TAG, [line()])
        assert first[0][1]["kubernetes"] == {
            "pod_name": POD_NAME,
            "namespace_name": "default",
            "container_name": "ordering-app",
            "docker_id": DOCKER_ID,
        }
        await eventually(lambda: kube.pods.get(("default", POD_NAME)) is not None)
        (ts, record), (_, second) = kube(TAG, [line(), line(stream="stderr")])
    assert ts == 1.5
    assert list(record) == ["log", "stream", "time", "kubernetes"]
    meta = record["kubernetes"]
    assert meta["labels"] == {"app": "ordering-app", "pod-template-hash": "7d9c6b9f5b"}
    assert meta["host"] == "ip-192-168-12-34.us-east-1.compute.internal"
    assert meta["pod_id"] == "0f3b1c8e-6a52-4d3f-9a6e-6f1e4c9b2d11"
    assert meta["container_image"].endswith("logging-demo-app:latest")
    assert second["kubernetes"] == meta and second["kubernetes"] is not meta
    assert api.requests == [(f"/api/v1/namespaces/default/pods/{POD_NAME}", f"Bearer {TOKEN}")]


async def test_api_down_records_flow_and_fetches_back_off(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail = True
    now = [1000.0]
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **options(api, tls, token_file))
        kube.pods._clock = lambda: now[0]
        with caplog.at_level(logging.WARNING):
            out = kube(TAG, [line()])
            assert out[0][1]["kubernetes"]["pod_name"] == POD_NAME
            await eventually(lambda: kube.pods.failures == 1)
            for _ in range(20):
                assert len(kube(TAG, [line()])) == 1
            await asyncio.sleep(0.05)
            assert len(api.requests) == 1, "inside the back-off no new request is made"
            now[0] += 1.5
            kube(TAG, [line()])
            await eventually(lambda: kube.pods.failures == 2)
            now[0] += 1.5  # the back-off doubled to 2s
            kube(TAG, [line()])
            await asyncio.sleep(0.05)
            assert len(api.requests) == 2
            api.fail = False
            now[0] += 1.0
            kube(TAG, [line()])
            await eventually(lambda: kube.pods.get(("default", POD_NAME)) is not None)
        assert "labels" in kube(TAG, [line()])[0][1]["kubernetes"]
    assert "retry in" in caplog.text
    assert TOKEN not in caplog.text


async def test_unreachable_api_server(tls: TlsFiles, token_file: Path) -> None:
    with fake_kube_api(FakeKubeApi(), tls) as gone:
        url = gone.url
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            Kube_URL=url,
            Kube_CA_File=str(tls.ca_file),
            Kube_Token_File=str(token_file),
        )
        assert kube(TAG, [line()])[0][1]["kubernetes"]["docker_id"] == DOCKER_ID
        await eventually(lambda: kube.pods.failures == 1)


async def test_unknown_ca_is_rejected(api: FakeKubeApi, token_file: Path, tmp_path: Path) -> None:
    other = make_tls(tmp_path)
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **options(api, other, token_file))
        kube(TAG, [line()])
        await eventually(lambda: kube.pods.failures == 1)
        assert api.requests == []
        assert "labels" not in kube(TAG, [line()])[0][1]["kubernetes"]


async def test_cache_ttl_refreshes_in_the_background(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path
) -> None:
    now = [0.0]
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter, ctx, **options(api, tls, token_file, Kube_Meta_Cache_TTL="60s")
        )
        kube.pods._clock = lambda: now[0]
        kube(TAG, [line()])
        await eventually(lambda: kube.pods.get(("default", POD_NAME)) is not None)
        api.add_pod(pod(labels={"app": "ordering-app", "version": "2"}))
        now[0] = 59.0
        assert kube(TAG, [line()])[0][1]["kubernetes"]["labels"]["app"] == "ordering-app"
        assert len(api.requests) == 1
        now[0] = 61.0
        stale = kube(TAG, [line()])[0][1]["kubernetes"]
        assert "version" not in stale["labels"], "the stale entry serves while refreshing"
        await eventually(lambda: len(api.requests) == 2 and kube.pods.fetches == 2)
        await asyncio.sleep(0.05)
        assert kube(TAG, [line()])[0][1]["kubernetes"]["labels"]["version"] == "2"


async def test_merge_log_keep_log_and_trim(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path
) -> None:
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **options(api, tls, token_file, Merge_Log="On", Keep_Log="Off", Use_Tag_For_Meta="On"),
        )
        out = kube(
            TAG,
            [
                line('{"msg":"done\\n","n":3}\n'),
                line("plain text\n"),
                line("[1,2]\n"),
                (2.0, {"log": {"already": "a map"}}),
            ],
        )
    assert [record for _, record in out] == [
        {
            "stream": "stdout",
            "time": "2020-11-11T00:17:35.495898374Z",
            "msg": "done",
            "n": 3,
            "kubernetes": out[0][1]["kubernetes"],
        },
        {**line("plain text\n")[1], "kubernetes": out[1][1]["kubernetes"]},
        {**line("[1,2]\n")[1], "kubernetes": out[2][1]["kubernetes"]},
        {"already": "a map", "kubernetes": out[3][1]["kubernetes"]},
    ]
    assert api.requests == [], "Use_Tag_For_Meta never calls the API"


@pytest.mark.parametrize(
    ("log", "merged"),
    [
        (' \t{"a":1}\n', {"a": 1}),
        ('{"path":"C:\\\\tmp","n":"x\\\\n"}', {"path": "C:\\tmp", "n": "x"}),
        ('{"text":"two\\nlines\\n\\n"}', {"text": "two\nlines"}),
        ('{"a":"b"', None),
        ("{not json}", None),
    ],
)
async def test_merge_log_json_shortcuts(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path, log: str, merged: dict[str, Any] | None
) -> None:
    # Text that cannot be an object skips decoding; text without a backslash skips the trim.
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **options(api, tls, token_file, Merge_Log="On", Keep_Log="Off", Use_Tag_For_Meta="On"),
        )
        [(_, record)] = kube(TAG, [line(log)])
    del record["kubernetes"]
    if merged is None:
        assert record == line(log)[1]
    else:
        assert record == {"stream": "stdout", "time": "2020-11-11T00:17:35.495898374Z", **merged}


async def test_merge_log_key_keeps_log(api: FakeKubeApi, tls: TlsFiles, token_file: Path) -> None:
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **options(
                api,
                tls,
                token_file,
                Merge_Log="On",
                Merge_Log_Key="app",
                Merge_Log_Trim="Off",
                Use_Tag_For_Meta="On",
            ),
        )
        (_, record), (_, empty) = kube(TAG, [line('{"msg":"x\\n"}'), line("{}")])
    assert record["log"] == '{"msg":"x\\n"}'
    assert record["app"] == {"msg": "x\n"}
    assert "app" not in empty


class StubParser:
    def __init__(self, result: tuple[float | None, dict[str, Any]] | None) -> None:
        self.result = result

    def parse(self, data: str) -> tuple[float | None, dict[str, Any]] | None:
        return copy.deepcopy(self.result) if data else None


class StubParsers:
    def __init__(self, parsers: dict[str, StubParser]) -> None:
        self.parsers = parsers

    def get(self, name: str, location: Location | None = None) -> StubParser:
        if name not in self.parsers:
            raise ConfigError(f"parser '{name}' is not defined", location)
        return self.parsers[name]


async def test_annotations_choose_parser_and_exclude(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path
) -> None:
    api.add_pod(
        pod(
            annotations={
                "fluentbit.io/parser_stdout": "upper",
                "fluentbit.io/exclude_stderr": "true",
                "fluentbit.io/parser-other-container": "missing",
            }
        )
    )
    parsers = StubParsers({"upper": StubParser((42.0, {"parsed": "YES"}))})
    async with plugin_context(parsers=parsers) as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **options(
                api,
                tls,
                token_file,
                Merge_Log="On",
                **{"K8S-Logging.Parser": "On", "K8S-Logging.Exclude": "On"},
            ),
        )
        kube(TAG, [line()])
        await eventually(lambda: kube.pods.get(("default", POD_NAME)) is not None)
        out = kube(TAG, [line("anything"), line("dropped", "stderr"), line("kept", "other")])
    assert [(ts, record.get("parsed"), record["log"]) for ts, record in out] == [
        (42.0, "YES", "anything"),
        (1.5, None, "kept"),
    ]


async def test_buffer_size_limits_the_answer(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **options(api, tls, token_file, Buffer_Size="1k"))
        with caplog.at_level(logging.WARNING):
            kube(TAG, [line()])
            await eventually(lambda: kube.pods.failures == 1)
        assert "labels" not in kube(TAG, [line()])[0][1]["kubernetes"]
    assert "Buffer_Size" in caplog.text


async def test_warm_up_lists_pods_of_this_node(
    api: FakeKubeApi, tls: TlsFiles, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODE_NAME", "ip-192-168-12-34.us-east-1.compute.internal")
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **options(api, tls, token_file))
        await kube.start()
        assert "labels" in kube(TAG, [line()])[0][1]["kubernetes"]
    assert api.paths() == [
        "/api/v1/pods?fieldSelector=spec.nodeName%3Dip-192-168-12-34.us-east-1.compute.internal"
    ]


async def test_namespace_labels(api: FakeKubeApi, tls: TlsFiles, token_file: Path) -> None:
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **options(api, tls, token_file, Namespace_Labels="On", Namespace_Metadata_Only="On"),
        )
        assert kube(TAG, [line()])[0][1]["kubernetes_namespace"] == {"name": "default"}
        await eventually(lambda: kube.namespaces.get("default") is not None)
        record = kube(TAG, [line()])[0][1]
    assert "kubernetes" not in record
    assert record["kubernetes_namespace"] == {
        "name": "default",
        "labels": {"kubernetes.io/metadata.name": "default"},
    }
    assert api.paths() == ["/api/v1/namespaces/default"]


async def test_regex_parser_and_tag_prefix() -> None:
    parsers = StubParsers({"custom": StubParser((None, {"pod_name": "p", "namespace_name": "n"}))})
    async with plugin_context(parsers=parsers) as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            Regex_Parser="custom",
            Kube_Tag_Prefix="app.",
            Use_Tag_For_Meta="On",
        )
        assert kube("app.whatever", [line()])[0][1]["kubernetes"] == {
            "pod_name": "p",
            "namespace_name": "n",
        }


async def test_tag_that_names_no_container_passes_untouched() -> None:
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, Use_Tag_For_Meta="On")
        events = [line()]
        assert kube("order", events) is events
        assert kube("kube.var.log.containers.notapod.log", events) is events
        assert ctx.metrics.get(ctx.instance, "kube_tag_unmatched") == 2


def test_validation() -> None:
    with pytest.raises(ConfigError, match="Kube_URL must start with"):
        settings_for(KubernetesFilter, Kube_URL="kubernetes.default.svc")
    with pytest.raises(ConfigError, match="unknown option 'Kube_Url_X'"):
        settings_for(KubernetesFilter, Kube_Url_X="x")


async def test_missing_regex_parser_is_a_config_error() -> None:
    async with plugin_context(parsers=StubParsers({})) as ctx:
        with pytest.raises(ConfigError, match="parser 'nope' is not defined"):
            build(KubernetesFilter, ctx, Regex_Parser="nope")
