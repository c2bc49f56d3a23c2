"""``logtide -J`` (Fluent Bit's ``--help-json``): the option tables as JSON, for tools that
generate or check configurations. The shape follows Fluent Bit's schema (``service``,
``inputs``, ``filters``, ``outputs``, each plugin with ``properties.options``)."""

from __future__ import annotations

import json
from typing import Any

from logtide.agent.config.service import SERVICE_OPTIONS
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import REGISTRY, Kind, load_plugin

_KINDS: tuple[Kind, ...] = ("input", "filter", "output")


def _option(option: Option) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": option.name,
        "description": option.description,
        "default": None if option.default is None else option.default_text(),
        "type": option.type,
    }
    if option.choices:
        described["choices"] = list(option.choices)
    if option.required:
        described["required"] = True
    if option.multiple:
        described["multiple"] = True
    return described


def _plugin(kind: Kind, name: str) -> dict[str, Any]:
    cls = load_plugin(kind, name)
    return {
        "type": kind,
        "name": cls.name,
        "description": cls.description,
        "properties": {"options": [_option(option) for option in cls.options]},
    }


def help_json(version: str, kind: str | None = None, name: str | None = None) -> str:
    """Every plugin's options, or one plugin's (``-i tail -J``)."""
    if name is not None:
        kinds = [k for k in _KINDS if (kind in (None, k)) and name.lower() in REGISTRY[k]]
        if not kinds:
            raise ConfigError(f"unknown plugin '{name}'")
        return json.dumps(_plugin(kinds[0], name), indent=2) + "\n"
    schema: dict[str, Any] = {
        "fluent-bit": {"version": version, "schema_version": "1", "os": "linux"},
        "service": {"options": [_option(option) for option in SERVICE_OPTIONS]},
    }
    for each in _KINDS:
        schema[f"{each}s"] = [_plugin(each, n) for n in sorted(REGISTRY[each])]
    return json.dumps(schema, indent=2) + "\n"
