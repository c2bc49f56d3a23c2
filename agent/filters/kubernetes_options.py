"""The kubernetes filter's option table (Fluent Bit's names and defaults) and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

# The AWS CloudWatch Observability add-on's pod-to-service association (its default
# application-log.conf sets Use_Pod_Association On): Fluent Bit asks the CloudWatch agent
# for each pod's service and environment and adds them as ``aws_entity_*`` keys for
# cloudwatch_logs' ``add_entity``. logtide fetches none and adds no key; the records and
# their pod metadata are as without it.
_NO_ASSOCIATION = "Accepted, no effect: logtide fetches no pod-to-service association."
_AGENT_CERTS = "/etc/amazon-cloudwatch-observability-agent"
_POD_ASSOCIATION = (
    Option("Use_Pod_Association", "bool", False, _NO_ASSOCIATION, inert=True),
    Option("aws_use_pod_association", "bool", False, _NO_ASSOCIATION, inert=True),
    Option(
        "aws_pod_association_host",
        "str",
        "cloudwatch-agent.amazon-cloudwatch",
        _NO_ASSOCIATION,
        inert=True,
    ),
    Option(
        "aws_pod_association_endpoint",
        "str",
        "/kubernetes/pod-to-service-env-map",
        _NO_ASSOCIATION,
        inert=True,
    ),
    Option("aws_pod_association_port", "int", 4311, _NO_ASSOCIATION, inert=True),
    Option("aws_pod_service_map_ttl", "int", 0, _NO_ASSOCIATION, inert=True),
    Option("aws_pod_service_map_refresh_interval", "int", 60, _NO_ASSOCIATION, inert=True),
    Option("aws_pod_service_preload_cache_dir", "str", None, _NO_ASSOCIATION, inert=True),
    Option(
        "aws_pod_association_host_server_ca_file",
        "str",
        f"{_AGENT_CERTS}-server-cert/tls-ca.crt",
        _NO_ASSOCIATION,
        inert=True,
    ),
    Option(
        "aws_pod_association_host_client_cert_file",
        "str",
        f"{_AGENT_CERTS}-client-cert/client.crt",
        _NO_ASSOCIATION,
        inert=True,
    ),
    Option(
        "aws_pod_association_host_client_key_file",
        "str",
        f"{_AGENT_CERTS}-client-cert/client.key",
        _NO_ASSOCIATION,
        inert=True,
    ),
    Option("aws_pod_association_host_tls_debug", "int", 0, _NO_ASSOCIATION, inert=True),
    Option("aws_pod_association_host_tls_verify", "bool", True, _NO_ASSOCIATION, inert=True),
)

KUBERNETES_OPTIONS: tuple[Option, ...] = (
    *COMMON_FILTER_OPTIONS,
    Option("Buffer_Size", "size", 32768, "Largest API answer accepted (0 = no limit)."),
    Option("Kube_URL", "str", "https://kubernetes.default.svc", "API server URL.", nonempty=True),
    Option("Kube_CA_File", "str", f"{SERVICE_ACCOUNT}/ca.crt", "CA of the API server."),
    Option("Kube_CA_Path", "str", None, "Directory of CA certificates."),
    Option("Kube_Token_File", "str", f"{SERVICE_ACCOUNT}/token", "Bearer token file."),
    Option("Kube_Token_TTL", "time", 600.0, "Re-read the token file this often."),
    Option(
        "Kube_Tag_Prefix",
        "str",
        "kube.var.log.containers.",
        "Tag prefix removed before matching the file name.",
    ),
    Option(
        "Regex_Parser",
        "str",
        None,
        "Parser whose named groups replace the tag regex.",
        refers="parser",
    ),
    Option("Merge_Log", "bool", False, "Parse the 'log' field as JSON and merge its keys."),
    Option("Merge_Parser", "str", None, "Parser for 'log' instead of JSON.", refers="parser"),
    Option("Merge_Log_Key", "str", None, "Put merged keys under this key."),
    Option("Merge_Log_Trim", "bool", True, "Trim trailing newlines of merged values."),
    Option("Keep_Log", "bool", True, "Keep the 'log' field after merging it."),
    Option("Labels", "bool", True, "Add the pod's labels."),
    Option("Annotations", "bool", True, "Add the pod's annotations."),
    Option("Owner_References", "bool", False, "Add the pod's ownerReferences."),
    Option("Namespace_Labels", "bool", False, "Add the namespace's labels."),
    Option("Namespace_Annotations", "bool", False, "Add the namespace's annotations."),
    Option(
        "Namespace_Metadata_Only",
        "bool",
        False,
        "Add only kubernetes_namespace, not the pod map.",
    ),
    Option("Kube_Meta_Namespace_Cache_TTL", "time", 900.0, "Namespace cache lifetime."),
    Option("K8S-Logging.Parser", "bool", False, "Honour fluentbit.io/parser annotations."),
    Option("K8S-Logging.Exclude", "bool", False, "Honour fluentbit.io/exclude annotations."),
    Option("Use_Kubelet", "bool", False, "Ask the node's kubelet instead of the API server."),
    Option("Kubelet_Host", "str", "127.0.0.1", "Kubelet address.", nonempty=True),
    Option("Kubelet_Port", "int", 10250, "Kubelet port."),
    Option("Kube_Meta_Cache_TTL", "time", 0.0, "Pod metadata lifetime (0 = forever)."),
    Option(
        "Kube_Meta_Preload_Cache_Dir",
        "str",
        None,
        "Folder of <namespace>_<pod>.meta and <namespace>.namespace_meta JSON files, "
        "read before asking the API.",
    ),
    Option("Use_Tag_For_Meta", "bool", False, "Use only the tag; never call the API."),
    Option("Cache_Use_Docker_ID", "bool", False, "Refetch when a container id changes."),
    Option("tls.verify", "bool", True, "Verify the API server and kubelet certificates."),
    Option(
        "tls.verify_hostname",
        "bool",
        False,
        "Also check the kubelet certificate names Kubelet_Host (the API server's always is).",
    ),
    Option("tls.vhost", "str", None, "Host header / SNI name for the API server."),
    Option("tls.debug", "int", 0, "Accepted for compatibility."),
    Option("DNS_Retries", "int", 6, "Accepted for compatibility; fetches back off instead."),
    Option("DNS_Wait_Time", "time", 30.0, "Accepted for compatibility."),
    *_POD_ASSOCIATION,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KubernetesSettings(FilterSettings):
    buffer_size: int
    kube_url: str
    kube_ca_file: str
    kube_ca_path: str | None
    kube_token_file: str
    kube_token_ttl: float
    kube_tag_prefix: str
    regex_parser: str | None
    merge_log: bool
    merge_parser: str | None
    merge_log_key: str | None
    merge_log_trim: bool
    keep_log: bool
    labels: bool
    annotations: bool
    owner_references: bool
    namespace_labels: bool
    namespace_annotations: bool
    namespace_metadata_only: bool
    kube_meta_namespace_cache_ttl: float
    k8s_logging_parser: bool
    k8s_logging_exclude: bool
    use_kubelet: bool
    kubelet_host: str
    kubelet_port: int
    kube_meta_cache_ttl: float
    kube_meta_preload_cache_dir: str | None
    use_tag_for_meta: bool
    cache_use_docker_id: bool
    tls_verify: bool
    tls_verify_hostname: bool
    tls_vhost: str | None
    tls_debug: int
    dns_retries: int
    dns_wait_time: float

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        url = self.kube_url
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"filter 'kubernetes': Kube_URL must start with http:// or https://, got {url!r}",
                self.where("kube_url"),
            )
        if not 0 < self.kubelet_port <= 65535:
            raise ConfigError(
                f"filter 'kubernetes': Kubelet_Port must be 1-65535, got {self.kubelet_port}",
                self.where("kubelet_port"),
            )
        if self.buffer_size < 0:
            raise ConfigError(
                "filter 'kubernetes': Buffer_Size must be >= 0", self.where("buffer_size")
            )
