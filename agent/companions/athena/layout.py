"""From an s3 output's ``s3_key_format`` to the table's LOCATION and partition projection.

The key's directories are read left to right:

- literal text and ``$TAG``/``$TAG[n]`` (the tag is known) form the table's LOCATION;
- then partitions: a run of strftime-only directories (``%Y/%m/%d/%H``) becomes ONE ``date``
  projection with the matching Java format (Athena's advice for such layouts), stopping at
  the hour; a Hive-style ``name=%Y-%m-%d`` directory a ``date`` projection named ``name``;
  ``name=${field}`` or ``${field}`` an ``injected`` projection (the query must give the
  value);
- anything after that (minutes, seconds, the file name) stays below the partition, where
  Athena reads every object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from agent.companions.athena.projection import java_to_strptime
from agent.companions.athena.table import AthenaError

_STRFTIME_TO_JAVA = {"%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%j": "DDD"}
_UNIT = {"%Y": "YEARS", "%y": "YEARS", "%m": "MONTHS", "%d": "DAYS", "%j": "DAYS", "%H": "HOURS"}
_ORDER = ("YEARS", "MONTHS", "DAYS", "HOURS")
_DIRECTIVE = re.compile(r"%.")
_TOKEN = re.compile(r"\$\{[^}]*\}|\$TAG\[\d+\]|\$TAG|\$INDEX|\$UUID")
_FIELD = re.compile(r"^\$\{\s*([^}]*?)\s*\}$")
_NAME = re.compile(r"[^a-z0-9_]+")


@dataclass(slots=True)
class Layout:
    location_prefix: str
    partitions: list[str] = field(default_factory=list)
    template: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def _date_format(text: str) -> tuple[str, str] | None:
    """``%Y-%m-%d`` -> (``yyyy-MM-dd``, ``DAYS``); None unless only date directives and
    plain separators."""
    java: list[str] = []
    units: list[str] = []
    position = 0
    for match in _DIRECTIVE.finditer(text):
        literal = text[position : match.start()]
        if literal and not re.fullmatch(r"[-_./ ]*", literal):
            return None
        java.append(literal)
        directive = match.group(0)
        if directive not in _STRFTIME_TO_JAVA:
            return None
        java.append(_STRFTIME_TO_JAVA[directive])
        units.append(_UNIT[directive])
        position = match.end()
    tail = text[position:]
    if not units or (tail and not re.fullmatch(r"[-_./ ]*", tail)):
        return None
    java.append(tail)
    return "".join(java), max(units, key=_ORDER.index)


def _column_name(raw: str) -> str:
    name = _NAME.sub("_", raw.lower()).strip("_")
    return name or "part"


def _tag_text(segment: str, tag: str | None, delimiters: str) -> str | None:
    """The segment with $TAG / $TAG[n] filled in; None if it holds other tokens."""
    tokens = _TOKEN.findall(segment)
    if any(not t.startswith("$TAG") for t in tokens) or _DIRECTIVE.search(segment):
        return None
    if tokens and tag is None:
        raise AthenaError(
            "s3_key_format uses $TAG but the output's Match is not one tag; give --tag"
        )
    parts = [p for p in re.split("[" + re.escape(delimiters or ".") + "]+", tag or "") if p]

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$TAG":
            return tag or ""
        index = int(token[5:-1])
        return parts[index] if index < len(parts) else ""

    return _TOKEN.sub(fill, segment)


def layout_for(
    key_format: str,
    bucket: str,
    tag: str | None,
    *,
    delimiters: str = ".",
    since: str | None = None,
) -> Layout:
    """The table layout for objects written with ``key_format`` for ``tag``."""
    segments = key_format.strip("/").split("/")
    directories, index = segments[:-1], 0
    prefix: list[str] = []
    while index < len(directories):
        text = _tag_text(directories[index], tag, delimiters)
        if text is None:
            break
        prefix.append(text)
        index += 1
    layout = Layout("/".join(prefix) + "/" if prefix else "")
    template: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if not run:
            return
        parsed = _date_format("/".join(run))
        assert parsed is not None
        name = "datehour" if parsed[1] == "HOURS" else "dt"
        _add_date(layout, name, parsed, since)
        template.append(f"${{{name}}}")
        run.clear()

    for segment in directories[index:]:
        name, eq, value = segment.partition("=")
        plain = _date_format(segment)
        if plain is not None and not eq:
            run.append(segment)
            if plain[1] == "HOURS":
                close_run()
                break
            continue
        close_run()
        dated = _date_format(value) if eq else None
        field_match = _FIELD.match(value if eq else segment)
        if dated is not None:
            column = _column_name(name)
            _add_date(layout, column, dated, since)
            template.append(f"{name}=${{{column}}}")
        elif field_match is not None:
            column = _column_name(name if eq else field_match.group(1).split("[")[-1].strip("'\"]"))
            layout.partitions.append(column)
            layout.properties[f"projection.{column}.type"] = "injected"
            template.append(f"{name}=${{{column}}}" if eq else f"${{{column}}}")
        else:
            break
    close_run()
    if len(set(layout.partitions)) != len(layout.partitions):
        raise AthenaError(f"s3_key_format gives two partitions the same name: {layout.partitions}")
    if layout.partitions:
        layout.template = f"s3://{bucket}/{layout.location_prefix}" + "/".join(template)
        layout.properties = {
            "projection.enabled": "true",
            **layout.properties,
            "storage.location.template": layout.template,
        }
    return layout


def _add_date(layout: Layout, name: str, parsed: tuple[str, str], since: str | None) -> None:
    java, unit = parsed
    start = since or "NOW-1YEARS"
    if not start.upper().startswith("NOW"):
        try:
            start = datetime.fromisoformat(start).strftime(java_to_strptime(java)[0])
        except ValueError:
            raise AthenaError(f"--since {since!r}: give a date (2024-05-01) or NOW-7DAYS") from None
    layout.partitions.append(name)
    layout.properties[f"projection.{name}.type"] = "date"
    layout.properties[f"projection.{name}.format"] = java
    layout.properties[f"projection.{name}.range"] = f"{start},NOW"
    layout.properties[f"projection.{name}.interval"] = "1"
    layout.properties[f"projection.{name}.interval.unit"] = unit
