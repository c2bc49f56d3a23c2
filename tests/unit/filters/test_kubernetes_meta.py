"""Pure metadata shaping of the kubernetes filter: tag regex, pod JSON, annotations, trim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logtide.agent.filters.kubernetes_merge import trim_value as _trim
from logtide.agent.filters.kubernetes_meta import (
    TAG_REGEX,
    MetaOptions,
    Props,
    TagMeta,
    annotation_props,
    kubernetes_map,
    namespace_map,
    pod_info,
    strip_scheme,
    tag_meta_from_groups,
)

DATA = Path(__file__).parent / "data"
DOCKER_ID = "9f2c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e"
POD = json.loads((DATA / "pod_ordering_app.json").read_text())


def test_tag_regex_reads_the_kubelet_file_name() -> None:
    match = TAG_REGEX.search(f"ordering-app-7d9c6b9f5b-x2l8q_default_ordering-app-{DOCKER_ID}.log")
    assert match is not None
    assert tag_meta_from_groups(match.groupdict()) == TagMeta(
        "ordering-app-7d9c6b9f5b-x2l8q", "default", "ordering-app", DOCKER_ID
    )


@pytest.mark.parametrize(
    "name",
    [
        "ordering-app_default_ordering-app-abc.log",  # id too short
        "ORDERING_default_app-" + "a" * 64 + ".log",  # upper case is not a pod name
        "no-underscores-" + "a" * 64 + ".log",
    ],
)
def test_tag_regex_rejects_other_names(name: str) -> None:
    assert TAG_REGEX.search(name) is None


def test_container_name_with_dashes_and_dotted_pod_name() -> None:
    match = TAG_REGEX.search(f"web.v2-0_shop_istio-proxy-{DOCKER_ID}.log")
    assert match is not None
    meta = tag_meta_from_groups(match.groupdict())
    assert meta == TagMeta("web.v2-0", "shop", "istio-proxy", DOCKER_ID)


def test_kubernetes_map_has_fluent_bits_keys_in_order() -> None:
    tag = TagMeta("ordering-app-7d9c6b9f5b-x2l8q", "default", "ordering-app", DOCKER_ID)
    kube = kubernetes_map(tag, pod_info(POD), MetaOptions())
    assert list(kube) == [
        "pod_name",
        "namespace_name",
        "pod_id",
        "labels",
        "annotations",
        "host",
        "pod_ip",
        "container_name",
        "docker_id",
        "container_hash",
        "container_image",
    ]
    assert kube == {
        "pod_name": "ordering-app-7d9c6b9f5b-x2l8q",
        "namespace_name": "default",
        "pod_id": "0f3b1c8e-6a52-4d3f-9a6e-6f1e4c9b2d11",
        "labels": {"app": "ordering-app", "pod-template-hash": "7d9c6b9f5b"},
        "annotations": {"kubernetes.io/psp": "eks.privileged", "prometheus.io/scrape": "false"},
        "host": "ip-192-168-12-34.us-east-1.compute.internal",
        "pod_ip": "192.168.20.7",
        "container_name": "ordering-app",
        "docker_id": DOCKER_ID,
        "container_hash": "123456789012.dkr.ecr.us-east-1.amazonaws.com/logging-demo-app@sha256:"
        "4b1f6c2d8e9a0b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c",
        "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/logging-demo-app:latest",
    }


def test_labels_annotations_off_and_owner_references_on() -> None:
    tag = TagMeta("ordering-app-7d9c6b9f5b-x2l8q", "default", "ordering-app", None)
    opts = MetaOptions(labels=False, annotations=False, owner_references=True)
    kube = kubernetes_map(tag, pod_info(POD), opts)
    assert "labels" not in kube and "annotations" not in kube
    assert kube["ownerReferences"][0]["kind"] == "ReplicaSet"
    # Without an id in the file name, the id comes from the container status.
    assert kube["docker_id"] == DOCKER_ID


def test_unknown_container_gets_no_status_fields() -> None:
    tag = TagMeta("ordering-app-7d9c6b9f5b-x2l8q", "default", "sidecar", None)
    kube = kubernetes_map(tag, pod_info(POD), MetaOptions())
    assert "container_image" not in kube and "docker_id" not in kube


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("docker://abc", "abc"),
        ("containerd://" + DOCKER_ID, DOCKER_ID),
        ("docker-pullable://nginx@sha256:01", "nginx@sha256:01"),
        ("sha256:01ab", "sha256:01ab"),
        ("noscheme", None),
    ],
)
def test_strip_scheme(raw: str, expected: str | None) -> None:
    assert strip_scheme(raw) == expected


def test_namespace_map() -> None:
    ns = json.loads((DATA / "namespace_default.json").read_text())
    assert namespace_map("default", ns, True, False) == {
        "name": "default",
        "labels": {"kubernetes.io/metadata.name": "default"},
    }
    assert namespace_map("default", None, True, True) == {"name": "default"}


ALLOW = MetaOptions(k8s_logging_parser=True, k8s_logging_exclude=True)


def test_annotation_parser_and_exclude_forms() -> None:
    annotations = {
        "fluentbit.io/parser": "apache",
        "fluentbit.io/parser_stderr-app": "java",
        "fluentbit.io/exclude_stdout": "true",
        "unrelated": "x",
    }
    props, warnings = annotation_props(annotations, "app", ALLOW)
    assert warnings == []
    assert props == Props("apache", "java", True, False)
    other, _ = annotation_props(annotations, "other", ALLOW)
    assert other == Props("apache", "apache", True, False)


def test_container_specific_annotation_wins_whatever_the_order() -> None:
    annotations = {"fluentbit.io/exclude-app": "false", "fluentbit.io/exclude": "true"}
    props, _ = annotation_props(annotations, "app", ALLOW)
    assert props.excluded("stdout") is False
    props, _ = annotation_props(annotations, "db", ALLOW)
    assert props.excluded("stdout") is True and props.excluded(None) is True


def test_annotations_need_their_switch_and_bad_ones_warn() -> None:
    annotations = {"fluentbit.io/parser": "json", "fluentbit.io/exclude_stdio": "true"}
    props, warnings = annotation_props(annotations, "app", MetaOptions())
    assert props == Props()
    assert len(warnings) == 2
    assert "K8S-Logging.Parser is Off" in warnings[0]
    assert "invalid annotation" in warnings[1]


def test_parser_for_records_without_stream() -> None:
    assert Props("a", "a").parser_for(None) == "a"
    assert Props("a", "b").parser_for(None) is None
    assert Props("a", "b").parser_for("stderr") == "b"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello\n", "hello"),
        ("hello\n\n", "hello"),
        ("hello\\n", "hello"),
        ("hello\\r\\n", "hello"),
        ("hello", "hello"),
        ("\n", "\n"),
    ],
)
def test_merge_log_trim(raw: str, expected: str) -> None:
    assert _trim(raw) == expected
