"""The ``[SERVICE]`` section's options, declared once like every plugin's, and the typed
settings they bind to (as a plugin's do)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import BoundSettings, Option

SERVICE_OPTIONS: tuple[Option, ...] = (
    Option("Flush", "time", 1.0, "Seconds between output flushes."),
    Option("Grace", "time", 5.0, "Seconds to finish delivery on SIGTERM/SIGINT before exiting."),
    Option("Daemon", "bool", False, "Accepted for compatibility; logtide stays in the foreground."),
    Option("Log_File", "str", None, "Write the agent's own log to this file instead of stderr."),
    Option(
        "Log_Level",
        "enum",
        "info",
        "Agent log verbosity.",
        choices=("off", "error", "warn", "warning", "info", "debug", "trace"),
    ),
    Option("Log_Format", "enum", "text", "logtide: text or json.", choices=("text", "json")),
    Option("Parsers_File", multiple=True, description="Files with [PARSER] sections."),
    Option("Streams_File", multiple=True, description="Files with [STREAM_TASK] sections."),
    Option("Plugins_File", description="Accepted for compatibility; logtide has no C plugins."),
    Option("HTTP_Server", "bool", False, "Serve monitoring endpoints."),
    Option("HTTP_Listen", "str", "0.0.0.0", "Address of the monitoring server.", nonempty=True),
    Option("HTTP_Port", "int", 2020, "Port of the monitoring server."),
    Option("Health_Check", "bool", False, "Report errors on /api/v1/health."),
    Option("HC_Errors_Count", "int", 5, "Output errors per period that make health fail."),
    Option("HC_Retry_Failure_Count", "int", 5, "Failed retries per period that fail health."),
    Option("HC_Period", "int", 60, "Health check period in seconds."),
    Option("Hot_Reload", "bool", False, "Reload the configuration on SIGHUP."),
    Option("storage.path", "str", None, "Folder for filesystem buffering of outputs' queues."),
    Option(
        "storage.sync",
        "enum",
        "normal",
        "Accepted: logtide fsyncs every disk queue write either way (as full does).",
        choices=("normal", "full"),
    ),
    Option("storage.checksum", "bool", False, "CRC32 per disk queue chunk, checked on read."),
    Option(
        "storage.backlog.mem_limit",
        "size",
        5 * 1024 * 1024,
        "Most bytes of queued chunks read from disk at once.",
    ),
    Option(
        "storage.max_chunks_up",
        "int",
        128,
        "Accepted: memory is bounded per output queue and by Mem_Buf_Limit.",
    ),
    Option("storage.metrics", "bool", False, "Accepted; there is no /api/v1/storage."),
    Option(
        "storage.type",
        "enum",
        "memory",
        "With storage.inherit On: the storage.type of inputs that set none.",
        choices=("memory", "filesystem"),
    ),
    Option("storage.inherit", "bool", False, "Inputs without storage.type take storage.type."),
    Option(
        "storage.delete_irrecoverable_chunks",
        "bool",
        False,
        "Accepted: a queued chunk that cannot be read is always reported and skipped.",
        inert=True,
    ),
    Option(
        "storage.backlog.flush_on_shutdown",
        "bool",
        False,
        "Accepted: a disk queue left at exit is delivered after the next start.",
        inert=True,
    ),
    Option(
        "storage.trim_files",
        "bool",
        False,
        "Accepted: delivered queue segments are deleted.",
        inert=True,
    ),
    Option(
        "storage.keep.rejected",
        "bool",
        False,
        "Accepted, no dead-letter queue: records an output gives up on are counted as dropped.",
        inert=True,
    ),
    Option(
        "storage.rejected.path",
        "str",
        "rejected",
        "Accepted with storage.keep.rejected.",
        inert=True,
    ),
    Option("scheduler.base", "time", 5.0, "Base seconds of the retry backoff."),
    Option("scheduler.cap", "time", 2000.0, "Maximum seconds of the retry backoff."),
    Option("Coro_Stack_Size", "size", 0, "Accepted for compatibility."),
    Option(
        "dns.mode",
        "enum",
        "UDP",
        "Accepted: names are resolved by the system's resolver.",
        choices=("UDP", "TCP"),
        inert=True,
    ),
    Option(
        "dns.resolver",
        "enum",
        None,
        "Accepted: names are resolved by the system's resolver.",
        choices=("LEGACY", "ASYNC"),
        inert=True,
    ),
    Option(
        "dns.prefer_ipv4", "bool", False, "Accepted: addresses in the resolver's order.", inert=True
    ),
    Option(
        "dns.prefer_ipv6", "bool", False, "Accepted: addresses in the resolver's order.", inert=True
    ),
    Option(
        "json.convert_nan_to_null",
        "bool",
        False,
        "Accepted: JSON is written with NaN and infinities as null (JSON has neither).",
        inert=True,
    ),
    Option(
        "json.escape_unicode",
        "bool",
        True,
        "Accepted: JSON is written in UTF-8 (the same values as escaped text).",
        inert=True,
    ),
    Option(
        "sp.convert_from_str_to_num",
        "bool",
        True,
        "Accepted: the stream processor always reads numeric strings as numbers.",
        inert=True,
    ),
    Option(
        "multiline_buffer_limit",
        "size",
        2 * 1024 * 1024,
        "Accepted: a multiline record ends by its parser's rules and flush timeout.",
        inert=True,
    ),
    Option(
        "Hot_Reload.Ensure_Thread_Safety", "bool", True, "Accepted for compatibility.", inert=True
    ),
    Option("Hot_Reload.Timeout", "int", 0, "Accepted for compatibility.", inert=True),
    Option("Enable_Chunk_Trace", "bool", False, "Accepted for compatibility.", inert=True),
    Option(
        "windows.maxstdio", "int", 512, "Accepted for compatibility (Windows only).", inert=True
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings(BoundSettings):
    flush: float
    grace: float
    daemon: bool
    log_file: str | None
    log_level: str
    log_format: Literal["text", "json"]
    parsers_file: list[str]
    streams_file: list[str]
    plugins_file: str | None
    http_server: bool
    http_listen: str
    http_port: int
    health_check: bool
    hc_errors_count: int
    hc_retry_failure_count: int
    hc_period: int
    hot_reload: bool
    storage_path: str | None
    storage_sync: Literal["normal", "full"]
    storage_checksum: bool
    storage_backlog_mem_limit: int
    storage_max_chunks_up: int
    storage_metrics: bool
    storage_type: Literal["memory", "filesystem"]
    storage_inherit: bool
    scheduler_base: float
    scheduler_cap: float
    coro_stack_size: int

    def __post_init__(self) -> None:
        # The socket layer takes a port modulo 65536: 99999 would listen on 34463.
        if not 0 <= self.http_port <= 65535:
            raise ConfigError(
                f"[SERVICE]: HTTP_Port must be 0-65535, got {self.http_port}",
                self.where("http_port"),
            )
