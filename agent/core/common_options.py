"""Options every instance of a kind accepts, as Fluent Bit's generic properties, and the
settings classes that bind them (each plugin's own settings class extends one).

The engine and the planner read these fields (tag, routing, retries) from a validated spec.
A subclass that has its own ``__post_init__`` calls its base's first, by name
(``OutputSettings.__post_init__(self)``: zero-argument ``super()`` fails in a slots
dataclass), so the common checks run, and run before its own, as the engine reports them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import BoundSettings, Option
from logtide.agent.core.retry import parse_retry_limit

# Fluent Bit's property of every input, filter and output. What it would quiet is said
# here once per episode already (a failure retried on a timer: when it starts, when it
# changes, when it ends; ``core/notices.py``).
_LOG_SUPPRESS_INTERVAL = Option(
    "Log_Suppress_Interval",
    "time",
    0.0,
    "Accepted, no effect: a repeated failure is already said once per episode.",
    inert=True,
)

# Fluent Bit's networking properties of an output that connects somewhere (its upstream
# settings), with their defaults. An output that acts on some declares those itself and
# takes the rest from :func:`with_net_options`.
_NET_OPTIONS: tuple[Option, ...] = (
    Option("net.dns.mode", "enum", None, "Select TCP or UDP for DNS.", choices=("UDP", "TCP")),
    Option(
        "net.dns.resolver", "enum", None, "LEGACY or ASYNC resolver.", choices=("LEGACY", "ASYNC")
    ),
    Option("net.dns.prefer_ipv4", "bool", False, "Prefer IPv4 addresses."),
    Option("net.dns.prefer_ipv6", "bool", False, "Prefer IPv6 addresses."),
    Option("net.keepalive", "bool", True, "Reuse connections between requests."),
    Option("net.keepalive_idle_timeout", "time", 30.0, "Close a connection idle this long."),
    Option("net.keepalive_max_recycle", "int", 2000, "Requests on one connection at most."),
    Option("net.tcp_keepalive", "bool", False, "TCP keepalive probes."),
    Option("net.tcp_keepalive_time", "int", -1, "Seconds idle before the first probe."),
    Option("net.tcp_keepalive_interval", "int", -1, "Seconds between probes."),
    Option("net.tcp_keepalive_probes", "int", -1, "Unanswered probes that end a connection."),
    Option("net.io_timeout", "time", 0.0, "Most time a connection may sit idle in a request."),
    Option("net.connect_timeout", "time", 10.0, "Most time to connect (TLS handshake included)."),
    Option("net.connect_timeout_log_error", "bool", True, "Log a connect timeout as an error."),
    Option("net.source_address", "str", None, "Local address to connect from."),
    Option("net.max_worker_connections", "int", 0, "Connections per worker at most (0: any)."),
    Option("net.proxy_env_ignore", "bool", False, "Ignore HTTP_PROXY and the like."),
)


def with_net_options(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """A connecting output's ``options`` and, after them, Fluent Bit's ``net.*`` options
    they do not declare themselves: taken and checked by type, with no effect on how
    logtide connects (the system's resolver, the output's own timeouts and reuse)."""
    declared = {option.key for option in options}
    return options + tuple(
        dataclasses.replace(
            option,
            description=f"Accepted, no effect (Fluent Bit: {option.description})",
            inert=True,
        )
        for option in _NET_OPTIONS
        if option.key not in declared
    )


COMMON_INPUT_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Tag", description="Tag given to records from this input."),
    Option("Alias", description="Instance name used in metrics and FROM STREAM:<alias>."),
    Option("Log_Level", description="Log level for this instance."),
    _LOG_SUPPRESS_INTERVAL,
    Option(
        "Mem_Buf_Limit",
        "size",
        0,
        "Pause the input while this many bytes it read are not yet delivered (0 = no limit).",
    ),
    Option(
        "storage.type",
        "enum",
        "memory",
        "filesystem: needs [SERVICE] storage.path, whose disk queues keep chunks across restarts.",
        choices=("memory", "filesystem"),
    ),
    Option(
        "storage.pause_on_chunks_overlimit",
        "bool",
        False,
        "Accepted: an input always waits while its outputs' queues are full.",
    ),
    Option("Threaded", "bool", False, "Accepted for compatibility; inputs share one loop."),
    Option("Routable", "bool", True, "Whether records of this input reach outputs."),
)

COMMON_FILTER_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Match", description="Tag pattern (* wildcard) of the records to process."),
    Option("Match_Regex", description="Regular expression over the tag, instead of Match."),
    Option("Alias", description="Instance name used in metrics."),
    Option("Log_Level", description="Log level for this instance."),
    _LOG_SUPPRESS_INTERVAL,
)

COMMON_OUTPUT_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Match", description="Tag pattern (* wildcard) of the records to deliver."),
    Option("Match_Regex", description="Regular expression over the tag, instead of Match."),
    Option("Alias", description="Instance name used in metrics."),
    Option("Log_Level", description="Log level for this instance."),
    _LOG_SUPPRESS_INTERVAL,
    Option(
        "Retry_Limit",
        "str",
        "no_limits",
        "Retries of a failed batch: a number, or no_limits/False for unlimited.",
    ),
    Option("Workers", "int", 1, "Concurrent flushes for this output."),
    Option("storage.total_limit_size", "size", 0, "Cap of this output's filesystem queue."),
    Option("tls", "bool", False, "Use TLS (AWS outputs always use the endpoint's scheme)."),
    Option("tls.verify", "bool", True, "Verify the server certificate."),
    Option("tls.ca_file", description="CA bundle for TLS verification."),
    Option("tls.debug", "int", 1, "Accepted for compatibility."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputSettings(BoundSettings):
    """The fields of :data:`COMMON_INPUT_OPTIONS`; every input's settings class extends it."""

    name: str
    tag: str | None
    alias: str | None
    log_level: str | None
    mem_buf_limit: int
    storage_type: Literal["memory", "filesystem"]
    storage_pause_on_chunks_overlimit: bool
    threaded: bool
    routable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterSettings(BoundSettings):
    """The fields of :data:`COMMON_FILTER_OPTIONS`; every filter's settings class extends it."""

    name: str
    match: str | None
    match_regex: str | None
    alias: str | None
    log_level: str | None

    def __post_init__(self) -> None:
        _check_match_regex("filter", self.match_regex, self.where("match_regex"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputSettings(BoundSettings):
    """The fields of :data:`COMMON_OUTPUT_OPTIONS`; every output's settings class extends it."""

    name: str
    match: str | None
    match_regex: str | None
    alias: str | None
    log_level: str | None
    retry_limit: str
    workers: int
    storage_total_limit_size: int
    tls: bool
    tls_verify: bool
    tls_ca_file: str | None
    tls_debug: int
    #: ``Retry_Limit`` parsed: retries after the first attempt, ``None`` for no limit.
    retries: int | None = field(init=False)
    #: Put before the ``Retry_Limit`` error by an output that names itself in every error.
    retry_error_label: ClassVar[str] = ""

    def __post_init__(self) -> None:
        _check_match_regex("output", self.match_regex, self.where("match_regex"))
        try:
            self._derive("retries", parse_retry_limit(self.retry_limit))
        except ConfigError as exc:
            raise ConfigError(
                self.retry_error_label + exc.message, self.where("retry_limit")
            ) from None


def _check_match_regex(kind: str, pattern: str | None, location: Location) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{kind}: Match_Regex {pattern!r} is not a valid regex: {exc}", location
        ) from None
