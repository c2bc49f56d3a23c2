"""Fluent Bit's YAML configuration format, read with line numbers for every value.

Top-level keys: ``env``, ``includes``, ``service``, ``parsers``, ``multiline_parsers``,
``pipeline`` (``inputs``/``filters``/``outputs``), ``stream_processor``. Each plugin entry is
a mapping turned into the same :class:`Section` the classic reader produces, so validation
is shared.
"""

from __future__ import annotations

import glob

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from logtide.agent.config.classic import resolve_path
from logtide.agent.config.model import Section
from logtide.agent.config.reader import Reader
from logtide.agent.config.variables import entry_values, expand
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry

TOP_LEVEL = (
    "env",
    "includes",
    "service",
    "parsers",
    "multiline_parsers",
    "pipeline",
    "stream_processor",
    "customs",
    "plugins",
)
_PIPELINE = {"inputs": "input", "filters": "filter", "outputs": "output"}


def _loc(path: str, node: Node) -> Location:
    return Location(path, node.start_mark.line + 1)


def _scalar_text(node: Node, path: str) -> str:
    if not isinstance(node, ScalarNode):
        raise ConfigError("expected a plain value, got a list or mapping", _loc(path, node))
    value = str(node.value)
    if node.tag.endswith(":bool"):
        return "on" if value.lower() in ("true", "yes", "on") else "off"
    return value


def _mapping(node: Node, path: str, what: str) -> list[tuple[ScalarNode, Node]]:
    if not isinstance(node, MappingNode):
        raise ConfigError(f"'{what}' must be a mapping", _loc(path, node))
    pairs: list[tuple[ScalarNode, Node]] = []
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise ConfigError(f"'{what}' has a non-text key", _loc(path, key))
        pairs.append((key, value))
    return pairs


def _sequence(node: Node, path: str, what: str) -> list[Node]:
    if not isinstance(node, SequenceNode):
        raise ConfigError(f"'{what}' must be a list", _loc(path, node))
    return list(node.value)


class YamlReader(Reader):
    """Reads a YAML config (following ``includes``) into sections and variables."""

    def read_text(self, text: str, path: str, depth: int = 0) -> None:
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"invalid YAML: {problem}", Location(path, line)) from None
        if root is None:
            return
        for key, value in _mapping(root, path, "top level"):
            name = key.value.lower()
            if name not in TOP_LEVEL:
                raise ConfigError(
                    f"unknown top-level key '{key.value}'; valid keys: {', '.join(TOP_LEVEL)}",
                    _loc(path, key),
                )
            if name == "env":
                for var, val in _mapping(value, path, "env"):
                    self.variables[var.value] = expand(_scalar_text(val, path), self.variables)
            elif name == "includes":
                for item in _sequence(value, path, "includes"):
                    pattern = resolve_path(expand(_scalar_text(item, path), self.variables), path)
                    matches = sorted(glob.glob(pattern))
                    if not matches and not glob.has_magic(pattern):
                        raise ConfigError(f"include not found: {pattern}", _loc(path, item))
                    for match in matches:
                        self.read_file(match, _loc(path, item), depth + 1)
            elif name == "service":
                self.sections.append(self._section("service", value, path))
            elif name == "parsers":
                for item in _sequence(value, path, "parsers"):
                    self.sections.append(self._section("parser", item, path))
            elif name == "multiline_parsers":
                for item in _sequence(value, path, "multiline_parsers"):
                    self.sections.append(self._multiline(item, path))
            elif name == "stream_processor":
                for item in _sequence(value, path, "stream_processor"):
                    self.sections.append(self._section("stream_task", item, path))
            elif name == "pipeline":
                self._pipeline(value, path)

    def _pipeline(self, node: Node, path: str) -> None:
        for key, value in _mapping(node, path, "pipeline"):
            kind = _PIPELINE.get(key.value.lower())
            if kind is None:
                raise ConfigError(
                    f"unknown pipeline key '{key.value}'; valid keys: inputs, filters, outputs",
                    _loc(path, key),
                )
            for item in _sequence(value, path, f"pipeline.{key.value}"):
                self.sections.append(self._section(kind, item, path))

    def _section(self, kind: str, node: Node, path: str) -> Section:
        section = Section(kind, _loc(path, node))
        for key, value in _mapping(node, path, kind):
            if key.value.lower() == "processors":
                raise ConfigError(
                    "'processors' are not supported by logtide; use filters", _loc(path, key)
                )
            values = (
                _sequence(value, path, key.value) if isinstance(value, SequenceNode) else [value]
            )
            for item in values:
                text, literal = entry_values(_scalar_text(item, path), self.variables)
                section.entries.append(Entry(key.value, text, _loc(path, item), literal))
        return section

    def _multiline(self, node: Node, path: str) -> Section:
        """``rules:`` lists become ``rule "state" "regex" "next"`` entries, as in classic."""
        section = Section("multiline_parser", _loc(path, node))
        for key, value in _mapping(node, path, "multiline_parser"):
            if key.value.lower() != "rules":
                text = expand(_scalar_text(value, path), self.variables)
                section.entries.append(Entry(key.value, text, _loc(path, value)))
                continue
            for rule in _sequence(value, path, "rules"):
                fields = {
                    k.value.lower(): _scalar_text(v, path) for k, v in _mapping(rule, path, "rule")
                }
                missing = [f for f in ("state", "regex", "next_state") if f not in fields]
                if missing:
                    raise ConfigError(
                        f"multiline rule is missing {', '.join(missing)}", _loc(path, rule)
                    )
                text = '"{state}" "{regex}" "{next_state}"'.format(**fields)
                section.entries.append(Entry("rule", text, _loc(path, rule)))
        return section
