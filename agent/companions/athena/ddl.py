"""``CREATE EXTERNAL TABLE`` for the objects an s3 output writes.

Columns come from a sample of the records (JSON types: numbers -> ``bigint``/``double``,
booleans -> ``boolean``, strings, objects and arrays -> ``string``; the OpenX SerDe returns
nested values as their JSON text) or are given. Every identifier is back-quoted, so ``date``
(the s3 output's time key) and other reserved words are safe. Keys that are not valid column
names (``kubernetes.pod``) get a cleaned name and a ``mapping.<column>`` SERDEPROPERTY.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from logtide.agent.companions.athena.layout import Layout
from logtide.agent.companions.athena.table import OPENX_SERDE, AthenaError

_VALID = re.compile(r"^[a-z_][a-z0-9_]*$")
_CLEAN = re.compile(r"[^a-z0-9_]+")
_ATHENA_TYPES = re.compile(
    r"^(string|boolean|tinyint|smallint|int|integer|bigint|float|double|date|timestamp|"
    r"decimal\(\d+,\s*\d+\)|varchar\(\d+\)|char\(\d+\)|(array|map|struct)<.+>)$"
)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    return "string"


def _merge(old: str | None, new: str) -> str:
    if old is None or old == new:
        return new
    if {old, new} == {"bigint", "double"}:
        return "double"
    return "string"


@dataclass(slots=True)
class Columns:
    """Columns in first-seen order, with the JSON key each one reads."""

    types: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, athena_type: str, *, override: bool = False) -> None:
        lowered = key.lower()
        name = lowered if _VALID.match(lowered) else _CLEAN.sub("_", lowered).strip("_") or "col"
        if name in self.keys and self.keys[name] != lowered:
            name = f"{name}_{len(self.keys)}"
        self.keys.setdefault(name, lowered)
        old = None if override else self.types.get(name)
        self.types[name] = _merge(old, athena_type)

    def mappings(self) -> dict[str, str]:
        return {name: key for name, key in self.keys.items() if name != key}


def infer_columns(records: Iterable[dict[str, Any]]) -> Columns:
    columns = Columns()
    for record in records:
        for key, value in record.items():
            if value is not None:
                columns.add(str(key), _json_type(value))
            elif str(key).lower() not in columns.keys.values():
                columns.add(str(key), "string")
    return columns


def parse_column(text: str) -> tuple[str, str]:
    """``name:type`` from the command line."""
    name, sep, kind = text.partition(":")
    kind = kind.strip().lower()
    if not sep or not name.strip() or not _ATHENA_TYPES.match(kind):
        raise AthenaError(
            f"--column {text!r}: expected NAME:TYPE with an Athena type "
            "(string, int, bigint, double, boolean, date, timestamp, decimal(p,s), ...)"
        )
    return name.strip(), kind


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _string(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


@dataclass(slots=True)
class TableDefinition:
    name: str
    columns: Columns
    layout: Layout
    bucket: str
    format: str = "json_lines"
    ignore_malformed: bool = True

    def render(self) -> str:
        if not self.bucket.strip():
            # LOCATION 's3:///...' would create a table that reads nothing, silently
            raise AthenaError("the s3 output's bucket is empty: no LOCATION to give the table")
        if not self.columns.types:
            raise AthenaError("no columns: give a --sample of the records or --column NAME:TYPE")
        clash = set(self.columns.types) & set(self.layout.partitions)
        if clash:
            raise AthenaError(
                f"partition column(s) {sorted(clash)} are also record keys; rename the "
                "partition in s3_key_format (e.g. dt=...)"
            )
        width = max(len(_quote(n)) for n in self.columns.types)
        body = ",\n".join(f"  {_quote(n):<{width}} {t}" for n, t in self.columns.types.items())
        lines = [f"CREATE EXTERNAL TABLE {_quote(self.name)} (", body, ")"]
        if self.layout.partitions:
            parts = ", ".join(f"{_quote(p)} string" for p in self.layout.partitions)
            lines.append(f"PARTITIONED BY ({parts})")
        if self.format == "parquet":
            lines.append("STORED AS PARQUET")
        else:
            lines.append(f"ROW FORMAT SERDE '{OPENX_SERDE}'")
            serde = {f"mapping.{k}": v for k, v in self.columns.mappings().items()}
            if self.ignore_malformed:
                serde["ignore.malformed.json"] = "true"
            if serde:
                pairs = ",\n  ".join(f"{_string(k)}={_string(v)}" for k, v in serde.items())
                lines.append(f"WITH SERDEPROPERTIES (\n  {pairs}\n)")
        lines.append(f"LOCATION {_string(f's3://{self.bucket}/{self.layout.location_prefix}')}")
        properties = {"has_encrypted_data": "false", **self.layout.properties}
        pairs = ",\n  ".join(f"{_string(k)}={_string(v)}" for k, v in properties.items())
        lines.append(f"TBLPROPERTIES (\n  {pairs}\n)")
        return "\n".join(lines) + ";\n"
