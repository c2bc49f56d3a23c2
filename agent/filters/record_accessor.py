"""Fluent Bit record accessors: ``$key``, ``$key['sub']["sub2"][0]``, or a bare ``key``."""

from __future__ import annotations

import re
from typing import Any

from agent.core.errors import ConfigError, Location

MISSING: Any = object()
_SUBSCRIPT = re.compile(r"""\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))\s*\]""")


class RecordAccessor:
    """Reads one (possibly nested) value out of a record."""

    __slots__ = ("key", "path", "pattern")

    def __init__(self, pattern: str, location: Location | None = None) -> None:
        self.pattern = pattern
        text = pattern[1:] if pattern.startswith("$") else pattern
        bracket = text.find("[") if pattern.startswith("$") else -1
        self.key = text if bracket < 0 else text[:bracket]
        path: list[str | int] = []
        pos = len(self.key)
        while pos < len(text):
            match = _SUBSCRIPT.match(text, pos)
            if match is None:
                raise ConfigError(f"invalid record accessor {pattern!r}", location)
            single, double, index = match.groups()
            if index is not None:
                path.append(int(index))
            else:
                path.append(single if single is not None else double)
            pos = match.end()
        if not self.key:
            raise ConfigError(f"invalid record accessor {pattern!r}: no key", location)
        self.path = tuple(path)

    @property
    def nested(self) -> bool:
        return bool(self.path)

    def get(self, record: dict[str, Any]) -> Any:
        """The value, or :data:`MISSING`."""
        value = record.get(self.key, MISSING)
        for step in self.path:
            if isinstance(step, int):
                if type(value) is not list or not -len(value) <= step < len(value):
                    return MISSING
                value = value[step]
            else:
                if type(value) is not dict:
                    return MISSING
                value = value.get(step, MISSING)
        return value
