"""The ``kubernetes`` filter: adds Fluent Bit's ``kubernetes`` map to container log records.

Pod name, namespace, container name and container id come from the tag (the
/var/log/containers file name behind ``Tag kube.*``) and are always added. Pod id, labels,
annotations, host, pod IP and image come from the API server (or the kubelet with
``Use_Kubelet``) once cached; the fetch runs in the background, so records never wait on
the network and keep flowing, with the tag-derived fields only, while the API is down.
With ``Kube_Meta_Preload_Cache_Dir`` a pod's object is read from ``<namespace>_<pod>.meta``
in that folder when the pod is first seen (before the API or kubelet is asked), so offline
runs, tests and benchmarks get full metadata from the first record without a cluster.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Hashable
from typing import Any, ClassVar
from urllib.parse import quote

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.kubernetes_client import (
    ClientConfig,
    KubeApiError,
    KubeClient,
    MetadataCache,
    read_meta_file,
)
from logtide.agent.filters.kubernetes_merge import LogMerger
from logtide.agent.filters.kubernetes_meta import (
    NO_PROPS,
    TAG_REGEX,
    MetaOptions,
    PodInfo,
    Props,
    TagMeta,
    annotation_props,
    kubernetes_map,
    namespace_map,
    pod_info,
    tag_meta_from_groups,
)
from logtide.agent.filters.kubernetes_options import KUBERNETES_OPTIONS, KubernetesSettings

POD_FMT = "/api/v1/namespaces/{}/pods/{}"
NAMESPACE_FMT = "/api/v1/namespaces/{}"
_TAG_CACHE_LIMIT = 8192
_WARM_UP_SECONDS = 5.0

PodKey = tuple[str, ...]


class KubernetesFilter(FilterPlugin[KubernetesSettings]):
    name: ClassVar[str] = "kubernetes"
    description: ClassVar[str] = (
        "Enrich container logs with pod name, namespace, labels and annotations."
    )
    options = KUBERNETES_OPTIONS

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        s = self.config
        self._prefix = s.kube_tag_prefix
        self._parsers = context.parsers
        self._regex_parser = self._parser(s.regex_parser, "Regex_Parser")
        self._merge_log = s.merge_log
        self._merger = LogMerger(
            parsers=self._parsers,
            merge_parser=self._parser(s.merge_parser, "Merge_Parser"),
            trim=s.merge_log_trim,
            keep_log=s.keep_log,
            key=s.merge_log_key,
            location=self.location,
            warn=self._warn,
        )
        self._meta_opts = MetaOptions(
            labels=s.labels,
            annotations=s.annotations,
            owner_references=s.owner_references,
            k8s_logging_parser=s.k8s_logging_parser,
            k8s_logging_exclude=s.k8s_logging_exclude,
        )
        self._ns_labels = s.namespace_labels
        self._ns_annotations = s.namespace_annotations
        self._ns_only = s.namespace_metadata_only
        self._use_ns = self._ns_labels or self._ns_annotations
        self._use_api = not s.use_tag_for_meta
        self._use_kubelet = s.use_kubelet
        self._docker_key = s.cache_use_docker_id
        self._preload_dir = s.kube_meta_preload_cache_dir or None
        self._preload_tried: set[Hashable] = set()
        common: dict[str, Any] = {
            "ca_file": s.kube_ca_file,
            "ca_path": s.kube_ca_path,
            "token_file": s.kube_token_file,
            "token_ttl": s.kube_token_ttl,
            "verify": s.tls_verify,
            "buffer_size": s.buffer_size,
        }
        self._api = KubeClient(ClientConfig(base_url=s.kube_url, vhost=s.tls_vhost, **common))
        kubelet_url = f"https://{s.kubelet_host}:{s.kubelet_port}"
        # A kubelet's serving certificate names its node, not the 127.0.0.1 or host IP it is
        # reached on: like Fluent Bit, the chain is verified but not the name, unless asked.
        self._kubelet = KubeClient(
            ClientConfig(
                base_url=kubelet_url,
                vhost=None,
                check_hostname=s.tls_verify_hostname,
                **common,
            )
        )
        name = f"{context.instance} kubernetes metadata"
        self.pods: MetadataCache[PodKey] = MetadataCache(
            name,
            self._fetch_pod,
            spawn=context.spawn,
            logger=context.logger,
            ttl=s.kube_meta_cache_ttl,
            group=self._pod_group,
        )
        self.namespaces: MetadataCache[str] = MetadataCache(
            f"{context.instance} namespace metadata",
            self._fetch_namespace,
            spawn=context.spawn,
            logger=context.logger,
            ttl=s.kube_meta_namespace_cache_ttl,
        )
        self._tags: dict[str, TagMeta | None] = {}
        self._views: dict[str, tuple[object, dict[str, Any], Props]] = {}

    def _parser(self, name: str | None, option: str) -> Any:
        if not name:
            return None
        if self._parsers is None:
            raise ConfigError(
                f"filter 'kubernetes': {option} {name!r} needs the parsers registry",
                self.location,
            )
        return self._parsers.get(name, self.location)

    async def start(self) -> None:
        """Fill the pod cache for this node in one request, so early records get labels.

        With Use_Kubelet the kubelet's pod list is this node's; otherwise the API server is
        asked for pods with ``spec.nodeName`` = ``$NODE_NAME`` (set by the DaemonSet through
        the downward API). Failure is only logged: the per-pod fetches take over (after the
        back-off when the source is down).
        """
        if not self._use_api or self._preload_dir is not None:
            return
        node = os.environ.get("NODE_NAME")
        try:
            async with asyncio.timeout(_WARM_UP_SECONDS):
                if self._use_kubelet:
                    found = await self._fetch_kubelet_pods()
                elif node:
                    path = f"/api/v1/pods?fieldSelector={quote('spec.nodeName=' + node)}"
                    found = self._index_pods(await self._api.get_json(path, limited=False))
                else:
                    return
        except TimeoutError:
            late = f"warm-up: no answer in {_WARM_UP_SECONDS:.0f}s"
            self.pods.mark_down(KubeApiError(late, transient=True))
            return
        except KubeApiError as exc:
            if exc.transient:
                # The same source the per-pod fetches use: one back-off, one warning line.
                self.pods.mark_down(exc)
            else:
                self.context.logger.warning("%s: warm-up skipped: %s", self.context.instance, exc)
            return
        for key, info in found.items():
            self.pods.put(key, info)

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        meta = self._tag_meta(tag)
        if meta is None:
            return events
        kube, props = self._view(tag, meta)
        ns_map = self._namespace_map(meta.namespace_name) if self._use_ns else None
        if props is NO_PROPS and ns_map is None and not self._ns_only:
            return self._plain(events, kube)
        merge = self._merger if self._merge_log else None
        out: list[Event] = []
        append = out.append
        for ts, record in events:
            if props is not NO_PROPS:
                stream = record.get("stream")
                if props.excluded(stream):
                    continue
                parser_name = props.parser_for(stream) if merge is not None else None
            else:
                parser_name = None
            if merge is not None and "log" in record:
                ts = merge(ts, record, parser_name)
            if not self._ns_only:
                record["kubernetes"] = dict(kube)
            if ns_map is not None:
                record["kubernetes_namespace"] = dict(ns_map)
            append((ts, record))
        return out

    def _plain(self, events: list[Event], kube: dict[str, Any]) -> list[Event]:
        """:meth:`__call__` for a pod without ``fluentbit.io`` hints or namespace maps (most
        pods): no record is dropped, and a record whose ``log`` is not merged keeps its
        time, so only the records that change are replaced in the list."""
        if self._merge_log:
            merge = self._merger
            for index, (ts, record) in enumerate(events):
                if "log" in record:
                    new_ts = merge(ts, record, None)
                    if new_ts != ts:
                        events[index] = (new_ts, record)
                record["kubernetes"] = kube.copy()
        else:
            for _, record in events:
                record["kubernetes"] = kube.copy()
        return events

    def _tag_meta(self, tag: str) -> TagMeta | None:
        try:
            return self._tags[tag]
        except KeyError:
            pass
        meta: TagMeta | None = None
        if len(tag) > len(self._prefix) + 1:
            suffix = tag[len(self._prefix) :]
            if self._regex_parser is not None:
                parsed = self._regex_parser.parse(suffix)
                meta = tag_meta_from_groups(parsed[1]) if parsed else None
            else:
                match = TAG_REGEX.search(suffix)
                meta = tag_meta_from_groups(match.groupdict()) if match else None
        if meta is None:
            self.context.logger.warning(
                "%s: tag %r does not name a container log file (Kube_Tag_Prefix %r)",
                self.context.instance,
                tag,
                self._prefix,
            )
            self.context.metrics.add(self.context.instance, "kube_tag_unmatched")
        if len(self._tags) >= _TAG_CACHE_LIMIT:
            self._tags.clear()
            self._views.clear()
            self._preload_tried.clear()
        self._tags[tag] = meta
        return meta

    def _view(self, tag: str, meta: TagMeta) -> tuple[dict[str, Any], Props]:
        info: PodInfo | None = None
        if self._use_api and not self._ns_only:
            key: PodKey = meta.pod_key
            if self._docker_key and meta.docker_id:
                key = (*key, meta.docker_id)
            if self._preload_dir is not None and key not in self._preload_tried:
                self._preload_tried.add(key)
                self._first_sight(self.pods, key, self._preload_pods)
            info = self.pods.get(key)
        cached = self._views.get(tag)
        if cached is not None and cached[0] is info:
            return cached[1], cached[2]
        if info is None:
            kube, props = meta.as_map(), NO_PROPS
        else:
            kube = kubernetes_map(meta, info, self._meta_opts)
            props, warnings = annotation_props(
                info.annotations, meta.container_name, self._meta_opts
            )
            for warning in warnings:
                self.context.logger.warning(
                    "%s: pod %s/%s: %s", self.context.instance, *meta.pod_key, warning
                )
        self._views[tag] = (info, kube, props)
        return kube, props

    def _namespace_map(self, namespace: str) -> dict[str, Any]:
        ns_object = None
        if self._use_api:
            if self._preload_dir is not None and namespace not in self._preload_tried:
                self._preload_tried.add(namespace)
                self._first_sight(self.namespaces, namespace, self._preload_namespace)
            ns_object = self.namespaces.get(namespace)
        return namespace_map(namespace, ns_object, self._ns_labels, self._ns_annotations)

    def _warn(self, message: str) -> None:
        self.context.logger.warning("%s: %s", self.context.instance, message)

    def _pod_group(self, key: PodKey) -> Hashable:
        return "kubelet" if self._use_kubelet else key

    def _first_sight(
        self, cache: MetadataCache[Any], key: Any, load: Callable[[Any], dict[Any, Any] | None]
    ) -> None:
        """Fill ``cache`` from the preload folder when a pod or namespace is first seen; a
        local read of a few KB, as Fluent Bit does it inline, so the first record has it."""
        try:
            found = load(key)
        except KubeApiError:
            # Not told here: the cache's own fetch reads the file again and says what is
            # wrong with it, with when it tries next.
            return
        for found_key, value in (found or {}).items():
            cache.put(found_key, value)

    def _preload_pods(self, key: PodKey) -> dict[PodKey, PodInfo] | None:
        # A Pod object, or a PodList as the kubelet answers (Fluent Bit accepts the latter).
        body = read_meta_file(self._preload_dir, f"{key[0]}_{key[1]}.meta")
        if body is None:
            return None
        return self._index_pods(body if "items" in body else {"items": [body]})

    def _preload_namespace(self, namespace: str) -> dict[str, Any] | None:
        body = read_meta_file(self._preload_dir, f"{namespace}.namespace_meta")
        return None if body is None else {namespace: body}

    async def _fetch_pod(self, key: PodKey) -> dict[PodKey, PodInfo]:
        if self._preload_dir is not None:
            found = self._preload_pods(key)
            if found is not None:
                return found
        if self._use_kubelet:
            return await self._fetch_kubelet_pods()
        namespace, pod = key[0], key[1]
        body = await self._api.get_json(POD_FMT.format(quote(namespace), quote(pod)))
        if not isinstance(body, dict):
            raise KubeApiError(f"pod {namespace}/{pod}: answer is not an object", transient=False)
        return self._index_pods({"items": [body]})

    async def _fetch_kubelet_pods(self) -> dict[PodKey, PodInfo]:
        try:
            return self._index_pods(await self._kubelet.get_json("/pods"))
        except KubeApiError as exc:
            # One answer serves every pod of the node, so any failure of it (an answer over
            # Buffer_Size, a 403) backs the whole source off with one warning, not each pod.
            raise KubeApiError(str(exc), transient=True) from None

    def _index_pods(self, body: Any) -> dict[PodKey, PodInfo]:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise KubeApiError("pod list answer has no items", transient=False)
        found: dict[PodKey, PodInfo] = {}
        for item in items:
            metadata = item.get("metadata") if isinstance(item, dict) else None
            if not isinstance(metadata, dict):
                continue
            namespace, name = metadata.get("namespace"), metadata.get("name")
            if not isinstance(namespace, str) or not isinstance(name, str):
                continue
            info = pod_info(item)
            found[(namespace, name)] = info
            if self._docker_key:
                for status in info.statuses:
                    container_id = status.get("containerID")
                    if isinstance(container_id, str) and "://" in container_id:
                        found[(namespace, name, container_id.split("://", 1)[1])] = info
        return found

    async def _fetch_namespace(self, namespace: str) -> dict[str, Any]:
        if self._preload_dir is not None:
            found = self._preload_namespace(namespace)
            if found is not None:
                return found
        body = await self._api.get_json(NAMESPACE_FMT.format(quote(namespace)))
        if not isinstance(body, dict):
            raise KubeApiError(f"namespace {namespace}: answer is not an object", transient=False)
        return {namespace: body}
