"""Fluent Bit's built-in multiline parsers ``docker`` and ``cri``.

- ``docker``: each line is docker's json-file JSON; fragments are joined until ``log`` ends
  with a newline (docker splits lines at 16 KiB).
- ``cri``: ``<time> <stream> <P|F> <log>``; ``P`` fragments of a stream are joined until its
  ``F`` line. The joined record keeps the first fragment's keys (so ``_p`` stays ``P``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from logtide.agent.core.errors import Location
from logtide.agent.parsers.multiline.spec import MultilineSpec
from logtide.agent.parsers.multiline.text import parse_rfc3339

_BUILTIN = Location("<built-in>", 0)
_CRI_RE = re.compile(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$", re.S)
_STREAMS = frozenset(("stdout", "stderr"))
_PARTIAL = frozenset(("F", "P"))


def docker_line(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    stamp = record.get("time")
    return (parse_rfc3339(stamp) if isinstance(stamp, str) else None), record


def cri_line(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    parts = text.split(" ", 3)
    if len(parts) == 4 and parts[1] in _STREAMS and parts[2] in _PARTIAL:
        stamp, stream, partial, log = parts
    else:
        match = _CRI_RE.match(text)
        if match is None:
            return None
        stamp, stream, partial, log = match.group("time", "stream", "_p", "log")
    return parse_rfc3339(stamp), {"time": stamp, "stream": stream, "_p": partial, "log": log}


def cri_complete(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    """:func:`cri_line` for an ``F`` line (a whole record); None for anything else."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError:
        return None
    try:
        stamp, stream, partial, log = text.split(" ", 3)
    except ValueError:
        return None
    if partial != "F" or stream not in _STREAMS:
        return None
    return parse_rfc3339(stamp), {"time": stamp, "stream": stream, "_p": "F", "log": log}


def _cri_bytes(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    try:
        return cri_line(line)
    except UnicodeDecodeError:
        return None


def builtin_specs() -> dict[str, MultilineSpec]:
    return {
        "docker": MultilineSpec(
            name="docker",
            mode="endswith",
            location=_BUILTIN,
            match_string="\n",
            key_content="log",
            key_group="stream",
            builtin_parser=docker_line,
        ),
        "cri": MultilineSpec(
            name="cri",
            mode="equal",
            location=_BUILTIN,
            match_string="F",
            key_content="log",
            key_pattern="_p",
            key_group="stream",
            builtin_parser=_cri_bytes,
            complete_line=cri_complete,
        ),
    }
