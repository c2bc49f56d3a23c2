"""From an s3 output's ``s3_key_format`` to the table's LOCATION and partition projection.

The key is parsed by the s3 output's own :class:`~logtide.sinks.s3.keys.KeyFormat` (so the
tokens and record fields are the ones the output fills in), and its directories read left to
right:

- literal text and ``$TAG``/``$TAG[n]`` (the tag is known) form the table's LOCATION;
- then partitions: a run of strftime-only directories (``%Y/%m/%d/%H``) becomes ONE ``date``
  projection with the matching Java format (Athena's advice for such layouts), stopping at
  the hour; a Hive-style ``name=%Y-%m-%d`` directory a ``date`` projection named ``name``;
  ``name=${field}`` or ``${field}`` (or the ``$field`` spelling) an ``injected``
  projection (the query must give the value);
- anything after that (minutes, seconds, the file name) stays below the partition, where
  Athena reads every object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from logtide.agent.companions.athena.projection import java_to_strptime
from logtide.agent.companions.athena.table import AthenaError
from logtide.agent.core.record_accessor import RecordAccessor
from logtide.sinks.s3.keys import KeyFormat, KeyFormatError, Piece

_STRFTIME_TO_JAVA = {"%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%j": "DDD"}
_UNIT = {"%Y": "YEARS", "%y": "YEARS", "%m": "MONTHS", "%d": "DAYS", "%j": "DAYS", "%H": "HOURS"}
_ORDER = ("YEARS", "MONTHS", "DAYS", "HOURS")
_DIRECTIVE = re.compile(r"%.")
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


def _literal(segment: list[Piece]) -> str | None:
    """The segment's text when it is literal text only (strftime directives included)."""
    if any(kind != "lit" for kind, _ in segment):
        return None
    return "".join(text for _, text in segment)


def _tag_text(segment: list[Piece], tag: str | None, key_format: KeyFormat) -> str | None:
    """The segment with $TAG / $TAG[n] filled in; None if it holds other tokens or a
    strftime directive."""
    if any(kind not in ("lit", "tag", "tagpart") for kind, _ in segment):
        return None
    if any(kind == "lit" and _DIRECTIVE.search(text) for kind, text in segment):
        return None
    if tag is None and any(kind != "lit" for kind, _ in segment):
        raise AthenaError(
            "s3_key_format uses $TAG but the output's Match is not one tag; give --tag"
        )
    parts = key_format.tag_parts(tag or "")
    out: list[str] = []
    for kind, value in segment:
        if kind == "lit":
            out.append(value)
        elif kind == "tag":
            out.append(tag or "")
        else:
            out.append(parts[value] if value < len(parts) else "")
    return "".join(out)


def _field_column(pieces: list[Piece]) -> str | None:
    """The column an ``injected`` partition gets from a segment that is one record field:
    the field's last key (``$kubernetes['namespace_name']`` -> ``namespace_name``)."""
    if len(pieces) != 1 or pieces[0][0] != "field":
        return None
    accessor: RecordAccessor = pieces[0][1]
    return _column_name(str(accessor.path[-1]) if accessor.path else accessor.key)


def _hive(segment: list[Piece]) -> tuple[str, list[Piece]] | None:
    """``name=rest`` -> (``name``, the pieces of ``rest``); None without a leading ``name=``."""
    if not segment or segment[0][0] != "lit" or "=" not in segment[0][1]:
        return None
    name, _, value = segment[0][1].partition("=")
    return name, ([("lit", value)] if value else []) + segment[1:]


def layout_for(
    key_format: str,
    bucket: str,
    tag: str | None,
    *,
    delimiters: str = ".",
    since: str | None = None,
) -> Layout:
    """The table layout for objects written with ``key_format`` for ``tag``."""
    try:
        parsed_format = KeyFormat(key_format, delimiters)
    except KeyFormatError as exc:
        raise AthenaError(f"s3_key_format {key_format!r}: {exc}") from None
    segments = parsed_format.segments()
    while segments and not segments[0]:
        segments.pop(0)
    while segments and not segments[-1]:
        segments.pop()
    directories, index = segments[:-1], 0
    prefix: list[str] = []
    while index < len(directories):
        text = _tag_text(directories[index], tag, parsed_format)
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
        literal = _literal(segment)
        plain = _date_format(literal) if literal is not None else None
        hive = _hive(segment)
        if plain is not None and hive is None:
            run.append(literal or "")
            if plain[1] == "HOURS":
                close_run()
                break
            continue
        close_run()
        value = hive[1] if hive is not None else segment
        value_text = _literal(value) if hive is not None else None
        dated = _date_format(value_text) if value_text is not None else None
        column = _field_column(value)
        if hive is not None and (dated is not None or column is not None):
            # A Hive-style directory names its column itself.
            name, column = hive[0], _column_name(hive[0])
            template.append(f"{name}=${{{column}}}")
        elif column is not None:
            template.append(f"${{{column}}}")
        else:
            break
        if dated is not None:
            _add_date(layout, column, dated, since)
        else:
            layout.partitions.append(column)
            layout.properties[f"projection.{column}.type"] = "injected"
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
