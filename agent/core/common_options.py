"""Options every instance of a kind accepts, as Fluent Bit's generic properties."""

from __future__ import annotations

from agent.core.options import Option

COMMON_INPUT_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Tag", description="Tag given to records from this input."),
    Option("Alias", description="Instance name used in metrics and FROM STREAM:<alias>."),
    Option("Log_Level", description="Log level for this instance."),
    Option(
        "Mem_Buf_Limit",
        "size",
        0,
        "Pause the input while this many bytes it read are not yet delivered (0 = no limit).",
    ),
    Option("storage.type", "enum", "memory", "Chunk storage.", choices=("memory", "filesystem")),
    Option("storage.pause_on_chunks_overlimit", "bool", False, "Pause when storage is full."),
    Option("Threaded", "bool", False, "Accepted for compatibility; inputs share one loop."),
    Option("Routable", "bool", True, "Whether records of this input reach outputs."),
)

COMMON_FILTER_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Match", description="Tag pattern (* wildcard) of the records to process."),
    Option("Match_Regex", description="Regular expression over the tag, instead of Match."),
    Option("Alias", description="Instance name used in metrics."),
    Option("Log_Level", description="Log level for this instance."),
)

COMMON_OUTPUT_OPTIONS: tuple[Option, ...] = (
    Option("Name", required=True, description="Plugin name."),
    Option("Match", description="Tag pattern (* wildcard) of the records to deliver."),
    Option("Match_Regex", description="Regular expression over the tag, instead of Match."),
    Option("Alias", description="Instance name used in metrics."),
    Option("Log_Level", description="Log level for this instance."),
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
