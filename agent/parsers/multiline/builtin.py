"""Fluent Bit's built-in multiline parsers: ``docker``, ``cri``, ``java``, ``python``, ``go``
and ``ruby``.

- ``docker``: each line is docker's json-file JSON; fragments are joined until ``log`` ends
  with a newline (docker splits lines at 16 KiB).
- ``cri``: ``<time> <stream> <P|F> <log>``; ``P`` fragments of a stream are joined until its
  ``F`` line. The joined record keeps the first fragment's keys (so ``_p`` stays ``P``).
- ``java``, ``python``, ``go``, ``ruby``: regex state machines over the content (the line,
  or ``multiline.key_content`` of a record), with the states and patterns Fluent Bit's own
  built-ins use, so a trace is cut where Fluent Bit cuts it.
"""

from __future__ import annotations

import re
from typing import Any

from logtide.agent.core.errors import Location
from logtide.agent.parsers.multiline.spec import MultilineSpec, Rule
from logtide.agent.parsers.multiline.text import parse_rfc3339
from logtide.agent.parsers.rubyre import compile_ruby
from logtide.agent.parsers.values import json_object

_BUILTIN = Location("<built-in>", 0)
_CRI_RE = re.compile(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$", re.S)
_STREAMS = frozenset(("stdout", "stderr"))
_PARTIAL = frozenset(("F", "P"))


def docker_line(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    record = json_object(line)
    if record is None:
        return None
    stamp = record.get("time")
    return (parse_rfc3339(stamp) if isinstance(stamp, str) else None), record


def docker_complete(line: bytes | str) -> tuple[float | None, dict[str, Any]] | None:
    """:func:`docker_line` for a whole record (``log`` ends in a newline); None for
    anything else, a fragment included."""
    record = json_object(line)
    if record is None:
        return None
    log = record.get("log")
    if not isinstance(log, str) or not log.endswith("\n"):
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


# (from states, Ruby regex, to state) per language, in the order Fluent Bit tries them.
_REGEX_RULES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "java": (
        (
            "start_state, java_start_exception",
            r"/(.)(?:Exception|Error|Throwable|V8 errors stack trace)[:\r\n]/",
            "java_after_exception",
        ),
        ("java_after_exception", r"/^[\t ]*nested exception is:[\t ]*/", "java_start_exception"),
        ("java_after_exception", r"/^[\r\n]*$/", "java_after_exception"),
        ("java_after_exception, java", r"/^[\t ]+(?:eval )?at /", "java"),
        (
            "java_after_exception, java",
            r"/^[\t ]+--- End of inner exception stack trace ---$/",
            "java",
        ),
        (
            "java_after_exception, java",
            r"/^--- End of stack trace from previous location where exception was thrown ---$/",
            "java",
        ),
        (
            "java_after_exception, java",
            r"/^[\t ]*(?:Caused by|Suppressed):/",
            "java_after_exception",
        ),
        ("java_after_exception, java", r"/^[\t ]*... \d+ (?:more|common frames omitted)/", "java"),
    ),
    "python": (
        ("start_state", r"/^Traceback \(most recent call last\):$/", "python"),
        ("python", r"/^[\t ]+File /", "python_code"),
        ("python_code", r"/[^\t ]/", "python"),
        ("python", r"/^(?:[^\s.():]+\.)*[^\s.():]+:/", "start_state"),
    ),
    "go": (
        ("start_state", r"/\bpanic: /", "go_after_panic"),
        ("start_state", r"/http: panic serving/", "go_goroutine"),
        ("go_after_panic", r"/^$/", "go_goroutine"),
        ("go_after_panic, go_after_signal, go_frame_1", r"/^$/", "go_goroutine"),
        ("go_after_panic", r"/^\[signal /", "go_after_signal"),
        ("go_goroutine", r"/^goroutine \d+ \[[^\]]+\]:$/", "go_frame_1"),
        ("go_frame_1", r"/^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by /", "go_frame_2"),
        ("go_frame_2", r"/^\s/", "go_frame_1"),
    ),
    "ruby": (
        ("start_state, ruby_start_exception", r"/^.+:\d+:in\s+.*/", "ruby_after_exception"),
        ("ruby_after_exception, ruby", r"/^\s+from\s+.*:\d+:in\s+.*/", "ruby"),
    ),
}


# Substrings one of which a line must hold for a rule to match (read off the regex itself).
_HINTS: dict[str, tuple[str, ...]] = {
    r"(.)(?:Exception|Error|Throwable|V8 errors stack trace)[:\r\n]": (
        "Exception",
        "Error",
        "Throwable",
        "V8 errors stack trace",
    ),
    r"^[\t ]*nested exception is:[\t ]*": ("nested exception is:",),
    r"^[\t ]+(?:eval )?at ": ("at ",),
    r"^[\t ]+--- End of inner exception stack trace ---$": ("--- End of inner exception",),
    r"^--- End of stack trace from previous location where exception was thrown ---$": (
        "--- End of stack trace from previous location",
    ),
    r"^[\t ]*(?:Caused by|Suppressed):": ("Caused by:", "Suppressed:"),
    r"^[\t ]*... \d+ (?:more|common frames omitted)": (" more", " common frames omitted"),
    r"^Traceback \(most recent call last\):$": ("Traceback (most recent call last):",),
    r"^[\t ]+File ": ("File ",),
    r"^(?:[^\s.():]+\.)*[^\s.():]+:": (":",),
    r"\bpanic: ": ("panic: ",),
    "http: panic serving": ("http: panic serving",),
    r"^\[signal ": ("[signal ",),
    r"^goroutine \d+ \[[^\]]+\]:$": ("goroutine ",),
    r"^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by ": ("(", "created by "),
    r"^.+:\d+:in\s+.*": (":in",),
    r"^\s+from\s+.*:\d+:in\s+.*": ("from",),
}


def _regex_spec(name: str) -> MultilineSpec:
    rules = tuple(
        Rule(
            tuple(s.strip() for s in states.split(",")),
            compile_ruby(regex),
            to,
            _HINTS.get(regex.strip("/"), ()),
        )
        for states, regex, to in _REGEX_RULES[name]
    )
    return MultilineSpec(name=name, mode="regex", location=_BUILTIN, rules=rules)


def builtin_specs() -> dict[str, MultilineSpec]:
    return {
        **{name: _regex_spec(name) for name in _REGEX_RULES},
        "docker": MultilineSpec(
            name="docker",
            mode="endswith",
            location=_BUILTIN,
            match_string="\n",
            key_content="log",
            key_group="stream",
            builtin_parser=docker_line,
            complete_line=docker_complete,
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
