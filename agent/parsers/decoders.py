"""``Decode_Field`` / ``Decode_Field_As``: post-process string fields of a parsed record.

``Decode_Field_As <decoder> <key> [try_next|do_next]`` replaces the value in place;
``Decode_Field <decoder> <key> [...]`` keeps the value and appends the keys of the decoded
JSON object to the record. Rules for one key run in the order written: a rule that fails
moves on only with ``try_next``/``do_next``, a rule that succeeds moves on only with
``do_next`` (Fluent Bit's ``flb_parser_decoder_do``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.parsers.values import json_object, mysql_unquote, unescape, unescape_utf8

_FAILED = object()


def _decode_json(value: str) -> Any:
    text = value.lstrip(" ")
    if not text.startswith(("{", "[")):
        return _FAILED
    decoded = json_object(text)
    return _FAILED if decoded is None else decoded


_BACKENDS: dict[str, Callable[[str], Any]] = {
    "json": _decode_json,
    "escaped": unescape,
    "escaped_utf8": unescape_utf8,
    "mysql_quoted": mysql_unquote,
}


@dataclass(frozen=True, slots=True)
class _Rule:
    backend: Callable[[str], Any]
    replace: bool  # Decode_Field_As
    action: str  # "", "try_next" or "do_next"


@dataclass(slots=True)
class Decoders:
    """Decoder rules grouped by key, in the order the keys were first named."""

    rules: dict[str, list[_Rule]] = field(default_factory=dict)

    def add(self, spec: str, replace: bool) -> None:
        """Add one ``Decode_Field(_As)`` value; raises ValueError when it is malformed."""
        parts = spec.split(None, 2)
        if len(parts) < 2:
            raise ValueError(f"expected '<decoder> <field> [try_next|do_next]', got {spec!r}")
        name, key = parts[0].lower(), parts[1]
        backend = _BACKENDS.get(name)
        if backend is None:
            raise ValueError(f"unknown decoder {parts[0]!r}; available: {', '.join(_BACKENDS)}")
        action = parts[2].strip().lower() if len(parts) == 3 else ""
        if action not in ("try_next", "do_next"):
            action = ""
        self.rules.setdefault(key, []).append(_Rule(backend, replace, action))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        extras: list[dict[str, Any]] = []
        for key, rules in self.rules.items():
            value = record.get(key)
            if type(value) is str:
                new_value, extra = _run(rules, value)
                if new_value is not value:
                    record[key] = new_value
                if extra is not None:
                    extras.append(extra)
        for extra in extras:
            record.update(extra)
        return record


def _run(rules: list[_Rule], value: str) -> tuple[Any, dict[str, Any] | None]:
    data: Any = value
    replaced = False
    extra: Any = None
    for rule in rules:
        if not rule.replace and rule.action == "do_next" and extra is not None:
            continue
        if replaced and not isinstance(data, str):
            continue
        result = rule.backend(data)
        if result is _FAILED:
            if rule.action:
                continue
            break
        if rule.replace:
            data = result
            replaced = True
        else:
            extra = result
        if rule.action != "do_next":
            break
    return (data if replaced else value), (extra if isinstance(extra, dict) else None)
