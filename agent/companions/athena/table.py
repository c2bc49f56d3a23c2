"""An Athena table as the local query engine needs it, read from its ``CREATE EXTERNAL TABLE``.

The DDL is parsed with sqlglot's Athena dialect, so the same text that runs in the Athena
console runs here: columns and types, ``PARTITIONED BY``, the SerDe or ``STORED AS``,
``LOCATION`` and ``TBLPROPERTIES`` (partition projection included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp

from logtide.agent.core.errors import LogtideError

OPENX_SERDE = "org.openx.data.jsonserde.JsonSerDe"
HIVE_JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

Format = Literal["json", "parquet"]


class AthenaError(LogtideError):
    """A DDL, query or data problem, reported as one line (like Athena's own errors)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    athena_type: str
    duckdb_type: str

    @property
    def base(self) -> str:
        """The type without parameters: ``decimal(10,2)`` -> ``decimal``."""
        return self.athena_type.split("(", 1)[0].strip().lower()


@dataclass(slots=True)
class TableSpec:
    name: str
    columns: list[Column]
    partitions: list[Column]
    format: Format
    location: str
    serde: str = OPENX_SERDE
    serde_properties: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return _split_location(self.location)[0]

    @property
    def prefix(self) -> str:
        return _split_location(self.location)[1]

    @property
    def projection_enabled(self) -> bool:
        return self.properties.get("projection.enabled", "").lower() == "true"

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        for column in (*self.columns, *self.partitions):
            if column.name == lowered:
                return column
        return None


def _split_location(location: str) -> tuple[str, str]:
    if not location.startswith("s3://"):
        raise AthenaError(f"LOCATION must be an s3:// URI, got {location!r}")
    bucket, _, prefix = location[5:].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _column(definition: exp.ColumnDef) -> Column:
    kind = definition.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise AthenaError(f"column `{definition.name}` has no type")
    return Column(
        definition.name.lower(),
        kind.sql("athena").lower(),
        kind.sql("duckdb"),
    )


def _text(node: exp.Expression | None) -> str:
    if node is None:
        return ""
    return node.name if isinstance(node, exp.Literal) else node.sql("athena").strip("'")


def _table(statement: exp.Create) -> TableSpec:
    schema = statement.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        raise AthenaError("CREATE TABLE needs a column list")
    name = schema.this.name.lower()
    columns = [_column(c) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    partitions: list[Column] = []
    serde = ""
    serde_properties: dict[str, str] = {}
    stored_as = ""
    location = ""
    properties: dict[str, str] = {}
    props = statement.args.get("properties")
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.PartitionedByProperty):
            target = prop.this
            if isinstance(target, exp.Schema):
                partitions = [_column(c) for c in target.expressions]
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde = _text(prop.this)
            extra = prop.args.get("serde_properties")
            for item in extra.expressions if extra else []:
                serde_properties[_text(item.this).lower()] = _text(item.args.get("value"))
        elif isinstance(prop, exp.FileFormatProperty):
            stored_as = _text(prop.this).upper()
        elif isinstance(prop, exp.LocationProperty):
            location = _text(prop.this)
        elif isinstance(prop, exp.Property):
            properties[_text(prop.this)] = _text(prop.args.get("value"))
    if not location:
        raise AthenaError(f"table {name}: LOCATION 's3://bucket/prefix/' is required")
    fmt: Format
    if stored_as == "PARQUET" or serde == PARQUET_SERDE:
        fmt, serde = "parquet", PARQUET_SERDE
    elif serde in (OPENX_SERDE, HIVE_JSON_SERDE):
        fmt = "json"
    elif not serde and stored_as in ("", "TEXTFILE"):
        raise AthenaError(
            f"table {name}: no ROW FORMAT SERDE; logtide's objects are JSON lines, use "
            f"ROW FORMAT SERDE '{OPENX_SERDE}'"
        )
    else:
        raise AthenaError(
            f"table {name}: {serde or stored_as} is not supported locally "
            f"(JSON via {OPENX_SERDE} or {HIVE_JSON_SERDE}, or STORED AS PARQUET)"
        )
    spec = TableSpec(name, columns, partitions, fmt, location, serde, serde_properties, properties)
    _split_location(location)
    clash = {c.name for c in columns} & {p.name for p in partitions}
    if clash:
        raise AthenaError(f"table {name}: column repeated in PARTITIONED BY: {sorted(clash)}")
    return spec


def parse_ddl(text: str) -> list[TableSpec]:
    """Every ``CREATE [EXTERNAL] TABLE`` in ``text`` (other statements are an error)."""
    try:
        statements = sqlglot.parse(text, read="athena")
    except sqlglot.errors.ParseError as exc:
        raise AthenaError(f"cannot parse the DDL: {str(exc).splitlines()[0]}") from None
    tables = []
    for statement in statements:
        if statement is None:
            continue
        if not isinstance(statement, exp.Create) or str(statement.args.get("kind")) != "TABLE":
            raise AthenaError(f"only CREATE EXTERNAL TABLE is supported, got: {statement.sql()}")
        tables.append(_table(statement))
    if not tables:
        raise AthenaError("the DDL has no CREATE EXTERNAL TABLE")
    return tables
