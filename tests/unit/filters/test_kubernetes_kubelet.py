"""The kubernetes filter's EKS options: Use_Kubelet against a kubelet stand-in (HTTPS, token),
Buffer_Size 0, pod-annotation hints only when allowed, Merge_Log_Key/Keep_Log, and metadata
from Kube_Meta_Preload_Cache_Dir with no API server at all."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logtide.agent.filters.kubernetes import KubernetesFilter
from tests.support.fake_kubelet import (
    TOKEN,
    FakeKubelet,
    TlsFiles,
    fake_kubelet,
    free_port,
    make_tls,
)
from tests.support.plugins import build, plugin_context
from tests.unit.filters.test_kubernetes import (
    DOCKER_ID,
    POD_NAME,
    TAG,
    StubParser,
    StubParsers,
    eventually,
    line,
    namespace,
    pod,
)

OTHER_POD = "ordering-app-7d9c6b9f5b-abcde"
OTHER_TAG = TAG.replace(POD_NAME, OTHER_POD)


@pytest.fixture
def kubelet(tls: TlsFiles) -> Iterator[FakeKubelet]:
    state = FakeKubelet()
    state.add_pod(pod())
    with fake_kubelet(tls, state) as server:
        yield server


def kubelet_options(
    tls: TlsFiles, token_file: Path, port: int | str, **extra: Any
) -> dict[str, Any]:
    return {
        # An API server that does not exist: with Use_Kubelet it must never be asked.
        "Kube_URL": f"https://127.0.0.1:{free_port()}",
        "Kube_CA_File": str(tls.ca_file),
        "Kube_Token_File": str(token_file),
        "Use_Kubelet": "On",
        "Kubelet_Host": "127.0.0.1",
        "Kubelet_Port": str(port),
        **extra,
    }


async def test_use_kubelet_lists_the_node_once_with_the_token(
    kubelet: FakeKubelet, tls: TlsFiles, token_file: Path
) -> None:
    kubelet.add_pod(pod(name=OTHER_POD, uid="second-uid"))
    _, port = kubelet.host_port
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **kubelet_options(tls, token_file, port))
        await kube.start()
        assert kube(TAG, [line()])[0][1]["kubernetes"]["labels"]["app"] == "ordering-app"
        assert kube(OTHER_TAG, [line()])[0][1]["kubernetes"]["pod_id"] == "second-uid"
    assert kubelet.requests == [("/pods", f"Bearer {TOKEN}")]


async def test_kubelet_unreachable_records_flow_then_metadata_arrives(
    tls: TlsFiles, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    now = [1000.0]
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **kubelet_options(tls, token_file, port))
        kube.pods._clock = lambda: now[0]
        with caplog.at_level(logging.WARNING):
            await kube.start()  # the warm-up fails, says so and starts the back-off
            assert caplog.text.count("records keep flowing") == 1
            for step in range(6):
                now[0] = kube.pods._down_until + (61.0 if step == 3 else 0.1)
                out = kube(TAG, [line(), line(stream="stderr")])
                assert len(out) == 2, "nothing is held back or lost while the kubelet is down"
                assert out[0][1]["kubernetes"] == {
                    "pod_name": POD_NAME,
                    "namespace_name": "default",
                    "container_name": "ordering-app",
                    "docker_id": DOCKER_ID,
                }
                await eventually(lambda step=step: kube.pods.failures == step + 1)
            down = [r for r in caplog.records if "records keep flowing" in r.getMessage()]
            # Seven failures in ~125 s of (fake) time: one line, then one after a minute.
            assert len(down) == 2, [r.getMessage() for r in down]
            state = FakeKubelet()
            state.add_pod(pod())
            with fake_kubelet(tls, state, port=port):
                now[0] += 61.0
                kube(TAG, [line()])
                await eventually(lambda: kube.pods.get(("default", POD_NAME)) is not None)
                meta = kube(TAG, [line()])[0][1]["kubernetes"]
        assert "source is back" in caplog.text
    assert meta["labels"] == {"app": "ordering-app", "pod-template-hash": "7d9c6b9f5b"}
    assert meta["host"] == "ip-192-168-12-34.us-east-1.compute.internal"
    assert TOKEN not in caplog.text


async def test_buffer_size_zero_takes_any_answer_size(
    kubelet: FakeKubelet, tls: TlsFiles, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A node with 110 pods answers /pods with far more than the 32 KiB default.
    for n in range(110):
        kubelet.add_pod(pod(name=f"filler-{n}", uid=f"uid-{n}"))
    _, port = kubelet.host_port
    async with plugin_context() as ctx:
        limited = build(KubernetesFilter, ctx, **kubelet_options(tls, token_file, port))
        unlimited = build(
            KubernetesFilter, ctx, **kubelet_options(tls, token_file, port, Buffer_Size="0")
        )
        with caplog.at_level(logging.WARNING):
            limited(TAG, [line()])
            unlimited(TAG, [line()])
            await eventually(lambda: limited.pods.failures == 1)
            await eventually(lambda: unlimited.pods.get(("default", POD_NAME)) is not None)
        assert "labels" not in limited(TAG, [line()])[0][1]["kubernetes"]
        assert "labels" in unlimited(TAG, [line()])[0][1]["kubernetes"]
    assert "larger than Buffer_Size (32768 bytes)" in caplog.text


ANNOTATED = {
    "fluentbit.io/parser": "upper",
    "fluentbit.io/exclude_stderr": "true",
    "fluentbit.io/exclude-sidecar": "true",
}


@pytest.mark.parametrize("allowed", [True, False])
async def test_annotation_hints_only_with_the_options_on(
    kubelet: FakeKubelet,
    tls: TlsFiles,
    token_file: Path,
    caplog: pytest.LogCaptureFixture,
    allowed: bool,
) -> None:
    kubelet.add_pod(pod(annotations=ANNOTATED))
    _, port = kubelet.host_port
    switch = "On" if allowed else "Off"
    parsers = StubParsers({"upper": StubParser((42.0, {"parsed": "YES"}))})
    sidecar_tag = TAG.replace("_ordering-app-", "_sidecar-")
    async with plugin_context(parsers=parsers) as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            **kubelet_options(
                tls,
                token_file,
                port,
                Merge_Log="On",
                **{"K8S-Logging.Parser": switch, "K8S-Logging.Exclude": switch},
            ),
        )
        with caplog.at_level(logging.WARNING):
            await kube.start()
            out = kube(TAG, [line('{"a":1}'), line("dropped?", "stderr")])
            sidecar = kube(sidecar_tag, [line("side")])
    got = [(ts, record.get("parsed"), record.get("a"), record["log"]) for ts, record in out]
    if allowed:
        assert got == [(42.0, "YES", None, '{"a":1}')], "parsed by annotation; stderr excluded"
        assert sidecar == [], "fluentbit.io/exclude-sidecar excludes that container only"
    else:
        assert got == [(1.5, None, 1, '{"a":1}'), (1.5, None, None, "dropped?")]
        assert [record["log"] for _, record in sidecar] == ["side"]
        assert "not allowed (K8S-Logging.Parser is Off)" in caplog.text


async def test_merge_log_key_with_keep_log_off() -> None:
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            Use_Tag_For_Meta="On",
            Merge_Log="On",
            Merge_Log_Key="log_processed",
            Keep_Log="Off",
        )
        out = kube(TAG, [line('{"level":"info","msg":"hi\\n"}\n'), line("not json\n")])
    (_, merged), (_, plain) = out
    assert "log" not in merged
    assert merged["log_processed"] == {"level": "info", "msg": "hi"}
    assert list(merged) == ["stream", "time", "log_processed", "kubernetes"]
    assert plain["log"] == "not json\n", "a line that does not parse keeps its log"
    assert "log_processed" not in plain


async def test_preload_cache_dir_needs_no_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "meta"
    cache.mkdir()
    (cache / f"default_{POD_NAME}.meta").write_text(json.dumps(pod()))
    # A kubelet-shaped PodList is accepted too, as Fluent Bit reads it in kubelet mode.
    other = pod(name=OTHER_POD, uid="second-uid")
    (cache / f"default_{OTHER_POD}.meta").write_text(json.dumps({"items": [other]}))
    (cache / "default.namespace_meta").write_text(json.dumps(namespace()))
    (cache / "broken_bad-pod.meta").write_text("{not json")
    (cache / "broken.namespace_meta").write_text('{"metadata": {"name": "broken"}}')
    nowhere = f"https://127.0.0.1:{free_port()}"
    async with plugin_context() as ctx:
        kube = build(
            KubernetesFilter,
            ctx,
            Kube_URL=nowhere,
            Kube_Meta_Preload_Cache_Dir=str(cache),
            Namespace_Labels="On",
        )
        with caplog.at_level(logging.WARNING):
            await kube.start()
            (_, first), (_, second) = kube(TAG, [line(), line(stream="stderr")])
            ((_, other_record),) = kube(OTHER_TAG, [line()])
            broken_tag = TAG.replace(f"{POD_NAME}_default", "bad-pod_broken")
            ((_, broken),) = kube(broken_tag, [line()])
            # Its background fetch reads the file again and backs off; the network is not asked.
            await eventually(lambda: kube.pods.failures == 1)
    meta = first["kubernetes"]
    assert meta["pod_id"] == "0f3b1c8e-6a52-4d3f-9a6e-6f1e4c9b2d11", "the very first record"
    assert meta["labels"] == {"app": "ordering-app", "pod-template-hash": "7d9c6b9f5b"}
    assert meta["container_image"].endswith("logging-demo-app:latest")
    assert second["kubernetes"] == meta
    assert first["kubernetes_namespace"]["labels"] == {"kubernetes.io/metadata.name": "default"}
    assert other_record["kubernetes"]["pod_id"] == "second-uid"
    assert broken["kubernetes"]["pod_name"] == "bad-pod", "a bad file costs metadata, not records"
    assert caplog.text.count("broken_bad-pod.meta: not JSON") == 1, "told once, with its retry"
    assert kube.pods.fetches == 1, "only the pod without a usable file is fetched again"
    assert "cannot connect" not in caplog.text
    assert kube.namespaces.fetches == 0


@pytest.mark.parametrize("verify_hostname", ["Off", "On"])
async def test_kubelet_certificate_names_the_node_not_the_address(
    tmp_path: Path, token_file: Path, caplog: pytest.LogCaptureFixture, verify_hostname: str
) -> None:
    # A kubelet's serving certificate names its node; the agent reaches it on 127.0.0.1.
    node_tls = make_tls(tmp_path, names=("ip-10-0-1-23.ec2.internal", "10.0.1.23"))
    state = FakeKubelet()
    state.add_pod(pod())
    with fake_kubelet(node_tls, state) as kubelet:
        _, port = kubelet.host_port
        options = kubelet_options(
            node_tls, token_file, port, **{"tls.verify_hostname": verify_hostname}
        )
        async with plugin_context() as ctx:
            kube = build(KubernetesFilter, ctx, **options)
            with caplog.at_level(logging.WARNING):
                await kube.start()
            meta = kube(TAG, [line()])[0][1]["kubernetes"]
    if verify_hostname == "Off":
        assert meta["pod_id"] == "0f3b1c8e-6a52-4d3f-9a6e-6f1e4c9b2d11", "chain checked, name not"
    else:
        assert "pod_id" not in meta
        assert kubelet.requests == [], "no request goes to a kubelet whose name does not match"
        assert "records keep flowing" in caplog.text


async def test_kubelet_certificate_from_another_ca_is_refused(
    tmp_path: Path, kubelet: FakeKubelet, token_file: Path
) -> None:
    stranger = make_tls(tmp_path)
    _, port = kubelet.host_port
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **kubelet_options(stranger, token_file, port))
        await kube.start()
        assert "pod_id" not in kube(TAG, [line()])[0][1]["kubernetes"]
    assert kubelet.requests == []


async def test_kubelet_answer_over_buffer_size_is_one_warning_for_the_node(
    kubelet: FakeKubelet, tls: TlsFiles, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tags = []
    for n in range(20):
        name = f"filler-{n}"
        kubelet.add_pod(pod(name=name, uid=f"uid-{n}"))
        tags.append(TAG.replace(POD_NAME, name))
    _, port = kubelet.host_port
    async with plugin_context() as ctx:
        kube = build(KubernetesFilter, ctx, **kubelet_options(tls, token_file, port))
        with caplog.at_level(logging.WARNING):
            for tag in tags:
                assert len(kube(tag, [line()])) == 1
            await eventually(lambda: kube.pods.failures == 1)
            for _ in range(3):
                for tag in tags:
                    kube(tag, [line()])
                await asyncio.sleep(0.2)  # room for any fetch those records scheduled
    assert len(kubelet.requests) == 1, "20 pods, one request inside the back-off"
    assert len([r for r in caplog.records if "Buffer_Size" in r.getMessage()]) == 1
