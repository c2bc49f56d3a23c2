"""``[SERVICE]``: every key Fluent Bit documents for it is taken (a cluster's config must
start as it does under Fluent Bit), and a key Fluent Bit has not either is still an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.config.loader import load_string
from logtide.agent.core.errors import ConfigError
from logtide.agent.engine.plan import build_plan

PIPELINE = "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n"

# Fluent Bit's documented [SERVICE] keys (its service section page), with a valid value each.
FLUENT_BIT_SERVICE_KEYS = {
    "coro_stack_size": "24576",
    "daemon": "off",
    "dns.mode": "TCP",
    "dns.prefer_ipv4": "on",
    "dns.prefer_ipv6": "off",
    "dns.resolver": "LEGACY",
    "enable_chunk_trace": "off",
    "flush": "5",
    "grace": "30",
    "hc_errors_count": "5",
    "hc_period": "60",
    "hc_retry_failure_count": "5",
    "health_check": "on",
    "hot_reload": "on",
    "hot_reload.ensure_thread_safety": "on",
    "hot_reload.timeout": "0",
    "http_listen": "127.0.0.1",
    "http_port": "2020",
    "http_server": "off",
    "json.convert_nan_to_null": "on",
    "json.escape_unicode": "off",
    "log_level": "error",
    "multiline_buffer_limit": "2MB",
    "scheduler.base": "5",
    "scheduler.cap": "2000",
    "sp.convert_from_str_to_num": "true",
    "windows.maxstdio": "512",
    "storage.backlog.flush_on_shutdown": "on",
    "storage.backlog.mem_limit": "5M",
    "storage.checksum": "off",
    "storage.delete_irrecoverable_chunks": "on",
    "storage.inherit": "on",
    "storage.keep.rejected": "on",
    "storage.max_chunks_up": "128",
    "storage.metrics": "on",
    "storage.rejected.path": "rejected",
    "storage.sync": "normal",
    "storage.trim_files": "on",
    "storage.type": "filesystem",
}


def test_every_key_fluent_bit_documents_is_taken(tmp_path: Path) -> None:
    parsers = tmp_path / "parsers.conf"
    parsers.write_text("[PARSER]\n    Name p\n    Format json\n")
    service = "".join(f"    {key} {value}\n" for key, value in FLUENT_BIT_SERVICE_KEYS.items())
    plan = build_plan(
        load_string(
            f"[SERVICE]\n{service}    storage.path {tmp_path / 'storage'}\n"
            f"    log_file {tmp_path / 'agent.log'}\n    parsers_file {parsers}\n{PIPELINE}",
            name="f.conf",
        )
    )
    assert (plan.service.storage_type, plan.service.storage_inherit) == ("filesystem", True)


def test_a_key_fluent_bit_does_not_have_either_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(
        ConfigError, match=r"f.conf:2: .*unknown option 'dns.mod' \(did you mean 'dns.mode'"
    ):
        build_plan(load_string(f"[SERVICE]\n    dns.mod TCP\n{PIPELINE}", name="f.conf"))


def test_a_value_the_key_does_not_take_is_one_error() -> None:
    with pytest.raises(ConfigError, match=r"f.conf:2: .*'dns.mode': expected one of UDP, TCP"):
        build_plan(load_string(f"[SERVICE]\n    dns.mode QUIC\n{PIPELINE}", name="f.conf"))
