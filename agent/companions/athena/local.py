"""A local stand-in for Athena: the table's objects, read with the SerDe's rules, queried by
DuckDB after sqlglot turned the Athena (Trino) SQL into DuckDB SQL.

Only the objects Athena itself would read are loaded: those of the partitions the query's
``WHERE`` keeps (conjuncts that use partition columns only, as Athena prunes), so the bytes
reported are the bytes Athena would scan for the same query.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from logtide.agent.companions.athena.objects import (
    MALFORMED,
    Source,
    StoredObject,
    decompress,
    extension_warning,
    json_lines,
    kind_of,
    parquet_column_bytes,
    parquet_rows,
    read_all,
)
from logtide.agent.companions.athena.projection import KeyPartitioner
from logtide.agent.companions.athena.scan import ScanReport, TableScan
from logtide.agent.companions.athena.serde import RowReader
from logtide.agent.companions.athena.table import AthenaError, TableSpec


def connect(confine_to: str | None = None) -> Any:
    """An in-memory DuckDB. With ``confine_to``, the connection reads and writes files in that
    folder only and reaches no URL: a query typed by the user (``read_csv('/etc/passwd')``,
    ``COPY ... TO``, ``ATTACH``, ``INSTALL``) is refused, and cannot turn access back on."""
    try:
        import duckdb
    except ImportError:
        raise AthenaError("the local Athena needs DuckDB: pip install 'logtide[query]'") from None
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    if confine_to is not None:
        connection.execute("SET allowed_directories = ?", [[os.path.join(confine_to, "")]])
        connection.execute("SET enable_external_access = false")
    return connection


@dataclass(slots=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    scan: ScanReport
    warnings: list[str] = field(default_factory=list)


def _conjuncts(node: exp.Expr) -> Iterator[exp.Expr]:
    if isinstance(node, exp.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    elif isinstance(node, exp.Paren):
        yield from _conjuncts(node.this)
    else:
        yield node


def _is_static_equality(node: exp.Expr, column: str) -> bool:
    if isinstance(node, exp.EQ):
        sides = (node.left, node.right)
        return any(isinstance(s, exp.Column) and s.name.lower() == column for s in sides) and any(
            isinstance(s, exp.Literal) for s in sides
        )
    if isinstance(node, exp.In):
        return (
            isinstance(node.this, exp.Column)
            and node.this.name.lower() == column
            and bool(node.expressions)
            and all(isinstance(v, exp.Literal) for v in node.expressions)
        )
    return False


def _name_like_athena(tree: exp.Expr) -> None:
    """Unnamed result columns are ``_col0``, ``_col1``... as in Athena."""
    if not isinstance(tree, exp.Select):
        return
    for index, projection in enumerate(tree.expressions):
        if not isinstance(projection, exp.Column | exp.Star | exp.Alias):
            projection.replace(exp.alias_(projection.copy(), f"_col{index}"))


@dataclass(slots=True)
class _Use:
    """One SELECT reading the table: the aliases it is known by and its WHERE conjuncts."""

    aliases: set[str]
    conjuncts: list[exp.Expr]


class LocalAthena:
    """Runs Athena SQL over tables declared by their DDL, reading objects from ``source_for``."""

    def __init__(
        self,
        tables: list[TableSpec],
        source_for: Callable[[TableSpec], Source],
        now: datetime | None = None,
    ) -> None:
        self.tables = {t.name: t for t in tables}
        self.source_for = source_for
        self.now = now
        # the tables are loaded from files in this folder, the only one queries may touch
        self._workdir = tempfile.TemporaryDirectory(prefix="logtide-athena-")
        self.connection = connect(self._workdir.name)

    def close(self) -> None:
        self.connection.close()
        self._workdir.cleanup()

    def __enter__(self) -> LocalAthena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- planning ---------------------------------------------------------------------------

    def _parse(self, sql: str) -> exp.Expr:
        try:
            statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
        except ParseError as exc:
            raise AthenaError(f"SYNTAX_ERROR: {str(exc).splitlines()[0]}") from None
        if len(statements) != 1:
            raise AthenaError("give exactly one SQL statement")
        statement = statements[0]
        if not isinstance(statement, exp.Query):
            raise AthenaError(f"only queries run locally, got: {statement.key.upper()}")
        return statement

    def _uses(self, tree: exp.Expr) -> dict[str, list[_Use]]:
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        uses: dict[str, list[_Use]] = {}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if name in ctes and not table.db:
                continue
            if name not in self.tables:
                qualified = ".".join(
                    p for p in ("awsdatacatalog", table.db or "default", name) if p
                )
                raise AthenaError(
                    f"TABLE_NOT_FOUND: Table '{qualified}' does not exist "
                    f"(tables from --ddl: {', '.join(sorted(self.tables)) or 'none'})"
                )
            select = table.parent_select
            where = select.args.get("where") if select is not None else None
            conjuncts = list(_conjuncts(where.this)) if where is not None else []
            aliases = {name, table.alias_or_name.lower()}
            uses.setdefault(name, []).append(_Use(aliases, conjuncts))
            # The local tables are plain names; Athena's catalog and database go.
            table.set("db", None)
            table.set("catalog", None)
        return uses

    def _partition_filter(self, spec: TableSpec, use: _Use) -> list[exp.Expr]:
        names = {p.name for p in spec.partitions}
        kept = []
        for conjunct in use.conjuncts:
            columns = list(conjunct.find_all(exp.Column))
            if not columns or conjunct.find(exp.Select) is not None:
                continue
            if all(
                c.name.lower() in names and (not c.table or c.table.lower() in use.aliases)
                for c in columns
            ):
                copy = conjunct.copy()
                for column in copy.find_all(exp.Column):
                    column.set("table", None)
                kept.append(copy)
        return kept

    def _select_objects(
        self, spec: TableSpec, uses: list[_Use]
    ) -> list[tuple[StoredObject, dict[str, str]]]:
        partitioner = KeyPartitioner(spec, self.now)
        for name in partitioner.injected:
            for use in uses:
                if not any(_is_static_equality(c, name) for c in use.conjuncts):
                    raise AthenaError(
                        f"CONSTRAINT_VIOLATION: For the injected projected partition column "
                        f"{name}, the WHERE clause must contain only static equality "
                        "conditions, and at least one such condition must be present."
                    )
        candidates = []
        for stored in self.source_for(spec).list(spec.prefix):
            if stored.key.endswith("/"):
                continue
            values = partitioner.values(stored.key)
            if values is not None:
                candidates.append((stored, values))
        if not spec.partitions or not candidates:
            return candidates
        filters = [self._partition_filter(spec, use) for use in uses]
        if any(not f for f in filters):
            return candidates
        keep: set[int] = set()
        for conjuncts in filters:
            keep |= self._evaluate(spec, candidates, conjuncts)
        return [c for i, c in enumerate(candidates) if i in keep]

    def _evaluate(
        self,
        spec: TableSpec,
        candidates: list[tuple[StoredObject, dict[str, str]]],
        conjuncts: list[exp.Expr],
    ) -> set[int]:
        names = [p.name for p in spec.partitions]
        columns = ", ".join(f'"{n}" VARCHAR' for n in names)
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE __partitions (__id INTEGER, {columns})"
        )
        self.connection.executemany(
            "INSERT INTO __partitions VALUES (" + ", ".join("?" * (len(names) + 1)) + ")",
            [[i, *(values[n] for n in names)] for i, (_, values) in enumerate(candidates)],
        )
        import duckdb

        condition = " AND ".join(f"({c.sql(dialect='duckdb')})" for c in conjuncts)
        try:
            found = self.connection.execute(
                f"SELECT __id FROM __partitions WHERE {condition}"
            ).fetchall()
        except duckdb.Error:
            # Not a filter DuckDB can run alone: read every partition, the query decides.
            return set(range(len(candidates)))
        return {int(row[0]) for row in found}

    # -- loading ----------------------------------------------------------------------------

    def _load(
        self,
        spec: TableSpec,
        selected: list[tuple[StoredObject, dict[str, str]]],
        used_columns: set[str] | None,
        warnings: list[str],
    ) -> TableScan:
        source = self.source_for(spec)
        reader = RowReader(spec)
        names = [c.name for c in spec.columns] + [p.name for p in spec.partitions]
        types = [c.duckdb_type for c in spec.columns] + [p.duckdb_type for p in spec.partitions]
        path = os.path.join(self._workdir.name, f"{spec.name}.jsonl")
        scanned = 0
        rows = 0
        with open(path, "wb") as out:
            by_key = {stored.key: (stored, values) for stored, values in selected}
            for key, data in read_all(source, list(by_key)):
                stored, values = by_key[key]
                where = source.describe(key)
                kind = kind_of(data)
                partition_values = [values.get(p.name) for p in spec.partitions]
                if kind == "parquet":
                    sizes = parquet_column_bytes(data, self.connection, self._workdir.name)
                    wanted = sizes.keys() if used_columns is None else used_columns
                    scanned += sum(sizes.get(c, 0) for c in wanted)
                    records: Iterator[tuple[int, Any]] = enumerate(
                        parquet_rows(data, self.connection, self._workdir.name), 1
                    )
                else:
                    scanned += stored.size
                    warning = extension_warning(key, kind)
                    if warning:
                        warnings.append(warning)
                    records = json_lines(decompress(data, kind, where))
                for number, value in records:
                    row = reader.row(
                        None if value is MALFORMED else value, f"{where} line {number}"
                    )
                    out.write(
                        orjson.dumps(
                            dict(zip(names, row + partition_values, strict=True)),
                            option=orjson.OPT_APPEND_NEWLINE,
                        )
                    )
                    rows += 1
        ddl = ", ".join(f'"{n}" {t}' for n, t in zip(names, types, strict=True))
        self.connection.execute(f'CREATE OR REPLACE TABLE "{spec.name}" ({ddl})')
        if rows:
            spec_types = (
                "{" + ", ".join(f"'{n}': '{t}'" for n, t in zip(names, types, strict=True)) + "}"
            )
            self.connection.execute(
                f'INSERT INTO "{spec.name}" SELECT * FROM read_json(?, '
                f"format='newline_delimited', columns={spec_types})",
                [path],
            )
        if reader.malformed:
            warnings.append(f"{spec.name}: {reader.malformed} malformed line(s) read as NULL rows")
        return TableScan(spec.name, len(selected), scanned, rows)

    # -- running ----------------------------------------------------------------------------

    def query(self, sql: str) -> Result:
        tree = self._parse(sql)
        uses = self._uses(tree)
        has_star = any(
            isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
            for select in tree.find_all(exp.Select)
            for p in select.expressions
        )
        referenced = {c.name.lower() for c in tree.find_all(exp.Column)}
        warnings: list[str] = []
        scans = []
        for name, table_uses in uses.items():
            spec = self.tables[name]
            selected = self._select_objects(spec, table_uses)
            used = None if has_star else referenced & {c.name for c in spec.columns}
            scans.append(self._load(spec, selected, used, warnings))
        _name_like_athena(tree)
        try:
            text = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            raise AthenaError(f"NOT_SUPPORTED locally: {exc}") from None
        rows, columns = self._execute(text)
        return Result(columns, rows, ScanReport(scans), warnings)

    def _execute(self, text: str) -> tuple[list[tuple[Any, ...]], list[str]]:
        import duckdb

        try:
            cursor = self.connection.execute(text)
            rows = cursor.fetchall()
        except duckdb.CatalogException as exc:
            message = str(exc).splitlines()[0]
            if "Function with name" in message:
                function = message.split("name", 1)[1].split("does not exist")[0].strip()
                raise AthenaError(
                    f"FUNCTION_NOT_FOUND: {function} has no local (DuckDB) equivalent; the "
                    "query may still run in Athena"
                ) from None
            raise AthenaError(f"local query failed: {message}") from None
        except duckdb.Error as exc:
            raise AthenaError(f"local query failed: {str(exc).splitlines()[0]}") from None
        columns = [d[0] for d in cursor.description or []]
        return rows, columns
