"""Fluent Bit's classic configuration format.

Sections are ``[NAME]`` lines; entries are indented ``Key Value`` lines (every entry of a
section at the same indentation); ``#`` starts a comment line; ``@INCLUDE`` (with globs) and
``@SET KEY=VALUE`` are directives. Values expand ``${VAR}`` and ``${VAR:-default}``.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator

from logtide.agent.config.model import Section
from logtide.agent.config.reader import Reader
from logtide.agent.config.variables import entry_values, expand
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry

SECTION_KINDS = (
    "service",
    "input",
    "filter",
    "output",
    "parser",
    "multiline_parser",
    "stream_task",
    "custom",
    "plugins",
)
_SECTION_RE = re.compile(r"^\[\s*([A-Za-z_]+)\s*\]\s*$")
_SET_RE = re.compile(r"^@SET\s+([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$", re.IGNORECASE)


class ClassicReader(Reader):
    """Reads one classic file (following ``@INCLUDE``) into a flat list of sections."""

    def read_text(self, text: str, path: str, depth: int = 0) -> None:
        current: Section | None = None
        indent: str | None = None
        for number, raw in _lines(text):
            location = Location(path, number)
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("@"):
                self._directive(stripped, path, location, depth)
                continue
            header = _SECTION_RE.match(stripped)
            if header:
                kind = header.group(1).lower()
                if kind not in SECTION_KINDS:
                    valid = ", ".join(f"[{k.upper()}]" for k in SECTION_KINDS)
                    raise ConfigError(
                        f"unknown section [{header.group(1)}]; valid sections: {valid}", location
                    )
                current = Section(kind, location)
                self.sections.append(current)
                indent = None
                continue
            if stripped.startswith("["):
                raise ConfigError(f"malformed section header {stripped!r}", location)
            if current is None:
                raise ConfigError(f"entry {stripped!r} appears before any [SECTION]", location)
            leading = raw[: len(raw) - len(raw.lstrip())]
            if not leading:
                raise ConfigError(
                    f"entry {stripped!r} must be indented under its section "
                    f"[{current.kind.upper()}]",
                    location,
                )
            if indent is None:
                indent = leading
            elif leading != indent:
                raise ConfigError(
                    f"invalid indentation: expected {len(indent)} leading "
                    f"{'tab' if indent.startswith(chr(9)) else 'space'}(s) as in the first "
                    f"entry of [{current.kind.upper()}], got {len(leading)}",
                    location,
                )
            key, _, value = stripped.partition(" ")
            if "\t" in key:
                key, _, rest = key.partition("\t")
                value = rest + " " + value if value else rest
            value = value.strip()
            if not value:
                raise ConfigError(f"key '{key}' has no value", location)
            expanded, literal = entry_values(value, self.variables)
            current.entries.append(Entry(key, expanded, location, literal))

    def _directive(self, line: str, path: str, location: Location, depth: int) -> None:
        word = line.split(None, 1)[0].upper()
        if word == "@SET":
            match = _SET_RE.match(line)
            if not match:
                raise ConfigError(f"malformed @SET {line!r}; expected @SET KEY=VALUE", location)
            self.variables[match.group(1)] = expand(match.group(2).strip(), self.variables)
        elif word == "@INCLUDE":
            parts = line.split(None, 1)
            if len(parts) < 2:
                raise ConfigError("@INCLUDE needs a file name or glob", location)
            pattern = resolve_path(expand(parts[1].strip(), self.variables), path)
            matches = sorted(glob.glob(pattern))
            if not matches and not glob.has_magic(pattern):
                raise ConfigError(f"@INCLUDE file not found: {pattern}", location)
            for included in matches:
                self.read_file(included, location, depth + 1)
        else:
            raise ConfigError(f"unknown directive {word}; valid: @INCLUDE, @SET", location)


def resolve_path(value: str, including_file: str) -> str:
    """Relative paths resolve against the folder of the file that names them."""
    if os.path.isabs(value) or not including_file or including_file.startswith("<"):
        return value
    return os.path.join(os.path.dirname(os.path.abspath(including_file)), value)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        yield number, line.rstrip("\r")
