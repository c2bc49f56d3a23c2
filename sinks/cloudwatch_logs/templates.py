"""Fluent Bit record-accessor templates for group and stream names.

``$kubernetes['namespace_name']``, ``$key[0]``, ``$TAG`` and ``$TAG[1]`` (the tag split on
dots) are replaced by their values; everything else is literal. When any referenced key is
missing the template yields ``None`` and the caller falls back to the static name, as
Fluent Bit's ``flb_ra_translate_check`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.core.events import Record
from agent.core.serialize import dumps

_TOKEN = re.compile(r"\$([A-Za-z_][\w.-]*)((?:\[(?:'[^']*'|\"[^\"]*\"|\d+)\])*)")
_SUBKEY = re.compile(r"\[(?:'([^']*)'|\"([^\"]*)\"|(\d+))\]")

_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str
    path: tuple[str | int, ...]


class Template:
    """A compiled template; :meth:`render` returns the name or ``None``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts: list[str | _Ref] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() > pos:
                self._parts.append(text[pos : match.start()])
            path: list[str | int] = []
            for sub in _SUBKEY.finditer(match.group(2)):
                quoted = sub.group(1) if sub.group(1) is not None else sub.group(2)
                path.append(quoted if quoted is not None else int(sub.group(3)))
            self._parts.append(_Ref(match.group(1), tuple(path)))
            pos = match.end()
        if pos < len(text):
            self._parts.append(text[pos:])

    @property
    def is_static(self) -> bool:
        return all(isinstance(part, str) for part in self._parts)

    def render(self, tag: str, record: Record) -> str | None:
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = _lookup(part, tag, record)
            if value is _MISSING:
                return None
            out.append(_text(value))
        return "".join(out)


def _lookup(ref: _Ref, tag: str, record: Record) -> Any:
    if ref.name == "TAG":
        if not ref.path:
            return tag
        index = ref.path[0]
        parts = tag.split(".")
        if isinstance(index, int) and index < len(parts):
            return parts[index]
        return _MISSING
    value: Any = record.get(ref.name, _MISSING)
    for step in ref.path:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_map = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_map):
            return _MISSING
        value = value[step]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return dumps(value).decode()
