"""Pure shaping of Kubernetes metadata: tag -> pod identity, pod JSON -> the ``kubernetes`` map.

Nothing here does I/O. The key order of every map follows Fluent Bit's filter so records
serialise the same way: pod_name, namespace_name, pod_id, labels, annotations,
ownerReferences, host, pod_ip, container_name, docker_id, container_hash, container_image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.core.options import parse_bool

# The name format kubelet gives /var/log/containers links: <pod>_<namespace>_<container>-<id>.log
TAG_REGEX = re.compile(
    r"(?P<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)"
    r"_(?P<namespace_name>[^_]+)_(?P<container_name>.+)-(?P<docker_id>[a-z0-9]{64})\.log$"
)

_ANNOTATION_PREFIX = "fluentbit.io/"


@dataclass(frozen=True, slots=True)
class TagMeta:
    """What the log file name tells about its container, with no API call."""

    pod_name: str
    namespace_name: str
    container_name: str | None = None
    docker_id: str | None = None

    @property
    def pod_key(self) -> tuple[str, str]:
        return (self.namespace_name, self.pod_name)

    def as_map(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pod_name": self.pod_name,
            "namespace_name": self.namespace_name,
        }
        if self.container_name is not None:
            out["container_name"] = self.container_name
        if self.docker_id is not None:
            out["docker_id"] = self.docker_id
        return out


def tag_meta_from_groups(groups: dict[str, Any]) -> TagMeta | None:
    """Build a :class:`TagMeta` from regex groups; pod and namespace are mandatory."""
    pod = groups.get("pod_name")
    namespace = groups.get("namespace_name")
    if not pod or not namespace:
        return None
    container = groups.get("container_name") or None
    docker_id = groups.get("docker_id") or None
    return TagMeta(str(pod), str(namespace), _opt_str(container), _opt_str(docker_id))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Props:
    """Per-container logging hints read from ``fluentbit.io/*`` pod annotations."""

    stdout_parser: str | None = None
    stderr_parser: str | None = None
    stdout_exclude: bool = False
    stderr_exclude: bool = False

    def excluded(self, stream: Any) -> bool:
        if stream == "stdout":
            return self.stdout_exclude
        if stream == "stderr":
            return self.stderr_exclude
        return self.stdout_exclude and self.stderr_exclude

    def parser_for(self, stream: Any) -> str | None:
        if stream == "stdout":
            return self.stdout_parser
        if stream == "stderr":
            return self.stderr_parser
        if self.stdout_parser is not None and self.stdout_parser == self.stderr_parser:
            return self.stdout_parser
        return None


NO_PROPS = Props()


@dataclass(slots=True)
class PodInfo:
    """The parts of one pod object the filter uses, extracted once per fetch."""

    uid: Any = None
    labels: Any = None
    annotations: Any = None
    owner_references: Any = None
    node_name: Any = None
    pod_ip: Any = None
    statuses: list[dict[str, Any]] = field(default_factory=list)
    has_labels: bool = False
    has_annotations: bool = False
    has_owner_references: bool = False
    has_uid: bool = False
    has_node_name: bool = False
    has_pod_ip: bool = False


def pod_info(pod: dict[str, Any]) -> PodInfo:
    """Extract a :class:`PodInfo` from a Pod object as the API server or kubelet returns it."""
    info = PodInfo()
    metadata = pod.get("metadata")
    if isinstance(metadata, dict):
        if "uid" in metadata:
            info.uid, info.has_uid = metadata["uid"], True
        if "labels" in metadata:
            info.labels, info.has_labels = metadata["labels"], True
        if "annotations" in metadata:
            info.annotations, info.has_annotations = metadata["annotations"], True
        if "ownerReferences" in metadata:
            info.owner_references = metadata["ownerReferences"]
            info.has_owner_references = True
    spec = pod.get("spec")
    if isinstance(spec, dict) and "nodeName" in spec:
        info.node_name, info.has_node_name = spec["nodeName"], True
    status = pod.get("status")
    if isinstance(status, dict):
        if "podIP" in status:
            info.pod_ip, info.has_pod_ip = status["podIP"], True
        for key in ("containerStatuses", "initContainerStatuses"):
            entries = status.get(key)
            if isinstance(entries, list):
                info.statuses.extend(e for e in entries if isinstance(e, dict))
    return info


def strip_scheme(value: str) -> str | None:
    """``docker://abc`` -> ``abc``; ``sha256:abc`` stays whole (Fluent Bit's hash rule)."""
    colon = value.find(":")
    if colon < 0 or len(value) <= 1:
        return None
    slash = colon
    while slash + 1 < len(value) and value[slash + 1] == "/":
        slash += 1
    if slash == colon:
        return value
    rest = value[slash + 1 :]
    return rest or None


@dataclass(frozen=True, slots=True)
class MetaOptions:
    labels: bool = True
    annotations: bool = True
    owner_references: bool = False
    k8s_logging_parser: bool = False
    k8s_logging_exclude: bool = False


def kubernetes_map(tag: TagMeta, info: PodInfo, opts: MetaOptions) -> dict[str, Any]:
    """The ``kubernetes`` map for one container of a pod whose object was fetched."""
    out: dict[str, Any] = {
        "pod_name": tag.pod_name,
        "namespace_name": tag.namespace_name,
    }
    if info.has_uid:
        out["pod_id"] = info.uid
    if info.has_labels and opts.labels:
        out["labels"] = info.labels
    if info.has_annotations and opts.annotations:
        out["annotations"] = info.annotations
    if info.has_owner_references and opts.owner_references:
        out["ownerReferences"] = info.owner_references
    if info.has_node_name:
        out["host"] = info.node_name
    if info.has_pod_ip:
        out["pod_ip"] = info.pod_ip
    docker_id, container_hash, image = _container_status(info, tag.container_name)
    if tag.container_name is not None:
        out["container_name"] = tag.container_name
    if tag.docker_id is not None or docker_id is not None:
        out["docker_id"] = tag.docker_id if tag.docker_id is not None else docker_id
    if container_hash is not None:
        out["container_hash"] = container_hash
    if image is not None:
        out["container_image"] = image
    return out


def _container_status(
    info: PodInfo, container: str | None
) -> tuple[str | None, str | None, str | None]:
    if container is None:
        return None, None, None
    for status in info.statuses:
        if status.get("name") != container:
            continue
        docker_id = _maybe(status.get("containerID"))
        container_hash = _maybe(status.get("imageID"))
        image = status.get("image")
        return docker_id, container_hash, image if isinstance(image, str) and image else None
    return None, None, None


def _maybe(value: Any) -> str | None:
    return strip_scheme(value) if isinstance(value, str) else None


def namespace_map(
    namespace: str, ns_object: dict[str, Any] | None, labels: bool, annotations: bool
) -> dict[str, Any]:
    """The ``kubernetes_namespace`` map: name, then the namespace's labels/annotations."""
    out: dict[str, Any] = {"name": namespace}
    metadata = (ns_object or {}).get("metadata")
    if isinstance(metadata, dict):
        if labels and "labels" in metadata:
            out["labels"] = metadata["labels"]
        if annotations and "annotations" in metadata:
            out["annotations"] = metadata["annotations"]
    return out


def annotation_props(
    annotations: Any, container: str | None, opts: MetaOptions
) -> tuple[Props, list[str]]:
    """Read ``fluentbit.io/parser[_stream][-container]`` and ``.../exclude...`` hints.

    Returns the props and warnings (disallowed or malformed annotations), which the caller
    logs once per fetched pod rather than once per record.
    """
    if not isinstance(annotations, dict):
        return NO_PROPS, []
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in annotations.items():
        if not isinstance(key, str) or not key.startswith(_ANNOTATION_PREFIX):
            continue
        prop = key[len(_ANNOTATION_PREFIX) :]
        if not prop:
            continue
        parsed = _parse_property(prop)
        if parsed is None:
            warnings.append(f"invalid annotation '{key}'")
            continue
        kind, streams, target = parsed
        if target is not None and target != container:
            continue
        if kind == "parser":
            if not opts.k8s_logging_parser:
                warnings.append(f"annotation '{key}' not allowed (K8S-Logging.Parser is Off)")
                continue
            setting: Any = str(value)
        else:
            if not opts.k8s_logging_exclude:
                warnings.append(f"annotation '{key}' not allowed (K8S-Logging.Exclude is Off)")
                continue
            try:
                setting = parse_bool(str(value))
            except ValueError:
                setting = False
        for stream in streams:
            slot = f"{stream}_{kind}"
            # As Fluent Bit: the first pod-wide hint sticks, a container-specific one always wins.
            if target is not None or slot not in values:
                values[slot] = setting
    if not values:
        # The shared "no hints" value lets the filter skip the per-record stream checks.
        return NO_PROPS, warnings
    return Props(
        stdout_parser=values.get("stdout_parser"),
        stderr_parser=values.get("stderr_parser"),
        stdout_exclude=bool(values.get("stdout_exclude", False)),
        stderr_exclude=bool(values.get("stderr_exclude", False)),
    ), warnings


def _parse_property(prop: str) -> tuple[str, tuple[str, ...], str | None] | None:
    for kind in ("parser", "exclude"):
        if prop.startswith(kind):
            rest = prop[len(kind) :]
            break
    else:
        return None
    streams: tuple[str, ...] = ("stdout", "stderr")
    if rest.startswith("_"):
        rest = rest[1:]
        for stream in ("stdout", "stderr"):
            if rest.startswith(stream):
                streams, rest = (stream,), rest[len(stream) :]
                break
        else:
            return None
    target: str | None = None
    if rest.startswith("-"):
        target = rest[1:]
        if not target:
            return None
        rest = ""
    if rest:
        return None
    return kind, streams, target
