"""Render every plugin's option table as Markdown: the docs come from the same declaration
that parses and validates the options."""

from __future__ import annotations

from logtide.agent.config.service import SERVICE_OPTIONS
from logtide.agent.core.options import Option
from logtide.agent.core.plugins import REGISTRY, Kind, load_plugin


def _table(options: tuple[Option, ...] | list[Option]) -> list[str]:
    rows = ["| option | type | default | description |", "|---|---|---|---|"]
    for option in options:
        notes = []
        if option.choices:
            notes.append("one of " + ", ".join(f"`{c}`" for c in option.choices))
        if option.required:
            notes.append("required")
        if option.multiple:
            notes.append("repeatable")
        extra = f" ({'; '.join(notes)})" if notes else ""
        default = option.default_text().replace("|", "\\|")
        description = option.description.replace("|", "\\|")
        rows.append(f"| `{option.name}` | {option.type} | `{default}` | {description}{extra} |")
    return rows


def render() -> str:
    lines = [
        "# Plugin options",
        "",
        "Generated from the option tables in the code (`python -m logtide.agent.plugin_docs`);",
        "`logtide -h PLUGIN` prints the same. Keys are case-insensitive.",
        "",
        "## [SERVICE]",
        "",
        *_table(list(SERVICE_OPTIONS)),
    ]
    kinds: tuple[Kind, ...] = ("input", "filter", "output")
    for kind in kinds:
        for name in sorted(REGISTRY[kind]):
            cls = load_plugin(kind, name)
            lines += [
                "",
                f"## {kind} `{cls.name}`",
                "",
                cls.description,
                "",
                *_table(list(cls.options)),
            ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
