"""``logtide athena``: the DDL for an s3 output's objects, and a local Athena to query them.

::

    logtide athena ddl -c fluent-bit.conf --output s3.0 --sample-s3 [--apply ...]
    logtide athena query --ddl table.sql --endpoint http://127.0.0.1:5000 "SELECT ..."
    logtide athena query --engine athena --output-location s3://results/ "SELECT ..."
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from logtide.agent.cli_args import HelpFormatter
from logtide.agent.companions.athena.ddl import (
    Columns,
    TableDefinition,
    infer_columns,
    parse_column,
)
from logtide.agent.companions.athena.layout import layout_for
from logtide.agent.companions.athena.local import LocalAthena
from logtide.agent.companions.athena.objects import (
    MALFORMED,
    LocalSource,
    S3Source,
    Source,
    decompress,
    json_lines,
    kind_of,
)
from logtide.agent.companions.athena.render import as_csv, as_json, table
from logtide.agent.companions.athena.service import (
    DEFAULT_CATALOG,
    DEFAULT_DATABASE,
    DEFAULT_WORKGROUP,
    AthenaService,
    Cancelled,
    Target,
)
from logtide.agent.companions.athena.table import AthenaError, TableSpec, parse_ddl
from logtide.agent.core.errors import LogtideError

if TYPE_CHECKING:
    from logtide.sinks.s3.options import S3Settings

SAMPLE_RECORDS = 1000
ENGINES = ("duckdb", "athena")
# Options each engine has no use for: giving one is a mistake worth one line, not a no-op.
_DUCKDB_ONLY = ("ddl", "bucket", "prefix", "local", "endpoint")
_ATHENA_ONLY = ("workgroup", "output_location", "database", "catalog", "athena_endpoint")


def _athena_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workgroup", metavar="NAME", help=f"Athena workgroup (default: {DEFAULT_WORKGROUP})"
    )
    parser.add_argument(
        "--output-location",
        metavar="S3URI",
        help="s3://bucket/prefix/ for Athena's result files (default: the workgroup's)",
    )
    parser.add_argument(
        "--database", metavar="NAME", help=f"Athena database (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument(
        "--catalog", metavar="NAME", help=f"Athena data catalog (default: {DEFAULT_CATALOG})"
    )
    parser.add_argument(
        "--athena-endpoint", metavar="URL", help="Athena endpoint URL (default: AWS's)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logtide athena",
        description="The DDL for an s3 output's objects, and a local Athena to query them.",
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{ddl,query}")

    ddl = commands.add_parser(
        "ddl", help="print CREATE EXTERNAL TABLE for an s3 output", formatter_class=HelpFormatter
    )
    ddl.add_argument("-c", "--config", required=True, help="the logtide/Fluent Bit config")
    ddl.add_argument("--output", help="the s3 output: its Alias or s3.N (default: the only one)")
    ddl.add_argument("--table", help="table name (default: from the tag)")
    ddl.add_argument("--tag", help="the tag whose objects the table reads (default: Match)")
    ddl.add_argument("--sample", action="append", default=[], help="a file of the records")
    ddl.add_argument(
        "--sample-s3", action="store_true", help="sample the newest objects in the bucket"
    )
    ddl.add_argument(
        "--column", action="append", default=[], help="NAME:TYPE, adds or overrides a column"
    )
    ddl.add_argument("--since", help="first partition date (default NOW-1YEARS)")
    ddl.add_argument("--endpoint", help="S3 endpoint for --sample-s3 (default: the output's)")
    ddl.add_argument(
        "--apply", action="store_true", help="also create the database and table in Athena"
    )
    ddl.add_argument("--region", help="Athena region for --apply (default: the output's)")
    _athena_options(ddl)

    query = commands.add_parser(
        "query",
        help="run Athena SQL locally (DuckDB) or in Amazon Athena",
        formatter_class=HelpFormatter,
    )
    query.add_argument("sql", help="the query (Athena/Trino SQL)")
    query.add_argument(
        "--engine",
        default="duckdb",
        metavar="{duckdb,athena}",
        help="duckdb: embedded, reads the objects itself (default); athena: Amazon Athena",
    )
    query.add_argument("--ddl", action="append", help="CREATE EXTERNAL TABLE file (duckdb)")
    query.add_argument("--bucket", help="read this bucket instead of the LOCATION's")
    query.add_argument("--prefix", help="read this prefix instead of the LOCATION's")
    query.add_argument("--endpoint", help="S3 endpoint URL (e.g. a local moto server)")
    query.add_argument("--region", help="AWS region (S3 for duckdb, Athena for athena)")
    query.add_argument("--local", metavar="DIR", help="a folder holding the bucket's objects")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _athena_options(query)
    return parser


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n, None) is not None]


def _target(args: argparse.Namespace, region: str | None) -> Target:
    return Target(
        workgroup=args.workgroup or DEFAULT_WORKGROUP,
        output_location=args.output_location,
        database=args.database or DEFAULT_DATABASE,
        catalog=args.catalog or DEFAULT_CATALOG,
        region=region,
        endpoint=args.athena_endpoint,
    )


# -- ddl ----------------------------------------------------------------------------------


def _s3_output(config: str, wanted: str | None) -> Any:
    from logtide.agent.config.loader import load_file
    from logtide.agent.engine.plan import build_plan

    plan = build_plan(load_file(config))
    outputs = [spec for spec in plan.outputs if spec.cls.name == "s3"]
    if wanted:
        chosen = [s for s in outputs if wanted.lower() in (s.instance.lower(), s.cls.name)]
        if len(chosen) != 1:
            names = ", ".join(s.instance for s in outputs) or "none"
            raise AthenaError(
                f"{config}: no single s3 output named {wanted!r} (s3 outputs: {names})"
            )
        return chosen[0]
    if len(outputs) != 1:
        names = ", ".join(s.instance for s in outputs) or "none"
        raise AthenaError(f"{config}: pick the s3 output with --output (s3 outputs: {names})")
    return outputs[0]


def _records(data: bytes, where: str) -> Iterator[dict[str, Any]]:
    kind = kind_of(data)
    if kind == "parquet":
        from logtide.agent.companions.athena.local import connect
        from logtide.agent.companions.athena.objects import parquet_rows

        connection = connect()
        try:
            yield from parquet_rows(data, connection)
        finally:
            connection.close()
        return
    for _, value in json_lines(decompress(data, kind, where)):
        if value is not MALFORMED and isinstance(value, dict):
            yield value


def _sample(args: argparse.Namespace, config: S3Settings, prefix: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in args.sample:
        try:
            with open(path, "rb") as handle:
                records.extend(_records(handle.read(), path))
        except OSError as exc:
            raise AthenaError(f"--sample {path}: {exc.strerror}") from None
    if args.sample_s3:
        endpoint = args.endpoint or config.endpoint
        source = S3Source(config.bucket, endpoint, config.region)
        newest = sorted(source.list(prefix), key=lambda o: o.key, reverse=True)
        for stored in newest:
            if len(records) >= SAMPLE_RECORDS:
                break
            records.extend(_records(source.read(stored.key), source.describe(stored.key)))
        if not newest:
            raise AthenaError(f"--sample-s3: no objects under s3://{config.bucket}/{prefix}")
    return records[:SAMPLE_RECORDS]


def _tag(args: argparse.Namespace, config: S3Settings) -> str | None:
    if args.tag:
        return str(args.tag)
    match = config.match
    if match and not any(ch in match for ch in "*?[") and not config.match_regex:
        return match
    return None


def ddl_text(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The DDL and any warnings about the key layout."""
    text, warnings, _ = _ddl_for_output(args)
    return text, warnings


def _ddl_for_output(args: argparse.Namespace) -> tuple[str, list[str], S3Settings]:
    from logtide.sinks.s3.options import S3Settings

    config = S3Settings.bind(_s3_output(args.config, args.output).settings)
    tag = _tag(args, config)
    key_format = config.s3_key_format
    layout = layout_for(
        key_format,
        config.bucket,
        tag,
        delimiters=config.s3_key_format_tag_delimiters,
        since=args.since,
    )
    columns = Columns()
    if config.date_key and not config.log_key:
        columns.add(config.date_key, "string")
    sample = _sample(args, config, layout.location_prefix)
    if not sample and not args.column:
        raise AthenaError(
            "no columns: give a --sample FILE of the records, --sample-s3, or --column NAME:TYPE"
        )
    for name, kind in infer_columns(sample).types.items():
        columns.add(name, kind)
    for text in args.column:
        name, kind = parse_column(text)
        columns.add(name, kind, override=True)
    warnings = []
    extension = {"gzip": ".gz", "zstd": ".zst"}.get(config.codec)
    if config.format != "parquet" and extension and not key_format.endswith(extension):
        warnings.append(
            f"s3_key_format does not end in {extension}: Athena picks the codec from the "
            f"object's extension and would read these {config.codec} objects as text"
        )
    name = args.table or (tag or "logs").replace(".", "_").replace("-", "_").lower()
    definition = TableDefinition(name, columns, layout, config.bucket, format=config.format)
    return definition.render(), warnings, config


# -- query --------------------------------------------------------------------------------


def relocate(spec: TableSpec, bucket: str | None, prefix: str | None) -> None:
    """Point the table (LOCATION and storage.location.template) at another bucket/prefix."""
    old = f"s3://{spec.bucket}/{spec.prefix}"
    new_prefix = spec.prefix if prefix is None else prefix.strip("/") + "/" if prefix else ""
    new = f"s3://{bucket or spec.bucket}/{new_prefix}"
    spec.location = new
    template = spec.properties.get("storage.location.template")
    if template and template.startswith(old):
        spec.properties["storage.location.template"] = new + template[len(old) :]


def _render(args: argparse.Namespace, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    render = {"table": table, "csv": as_csv, "json": as_json}[args.format]
    sys.stdout.write(render(columns, rows))
    sys.stdout.flush()


def run_query(args: argparse.Namespace) -> int:
    if args.engine not in ENGINES:
        raise AthenaError(
            f"unknown --engine {args.engine!r}: duckdb (embedded, the default) or athena"
        )
    unused = _given(args, _ATHENA_ONLY if args.engine == "duckdb" else _DUCKDB_ONLY)
    if unused:
        why = (
            "Athena reads the table from its catalog (create it with logtide athena ddl --apply)"
            if args.engine == "athena"
            else "they are for --engine athena"
        )
        raise AthenaError(f"{', '.join(unused)}: not used by --engine {args.engine}; {why}")
    if args.engine == "athena":
        return run_in_athena(args)
    if not args.ddl:
        raise AthenaError("--ddl FILE is required: the CREATE EXTERNAL TABLE DuckDB reads")
    tables: list[TableSpec] = []
    for path in args.ddl:
        try:
            with open(path, encoding="utf-8") as handle:
                tables.extend(parse_ddl(handle.read()))
        except OSError as exc:
            raise AthenaError(f"--ddl {path}: {exc.strerror}") from None
    for spec in tables:
        relocate(spec, args.bucket, args.prefix)
    sources: dict[str, Source] = {}

    def source_for(spec: TableSpec) -> Source:
        if spec.bucket not in sources:
            if args.local:
                sources[spec.bucket] = LocalSource(args.local, spec.bucket)
            else:
                sources[spec.bucket] = S3Source(spec.bucket, args.endpoint, args.region)
        return sources[spec.bucket]

    with LocalAthena(tables, source_for) as athena:
        result = athena.query(args.sql)
    _render(args, result.columns, result.rows)
    for warning in dict.fromkeys(result.warnings):
        print(f"warning: {warning}", file=sys.stderr)
    print(result.scan.summary(), file=sys.stderr)
    return 0


def run_in_athena(args: argparse.Namespace) -> int:
    service = AthenaService(_target(args, args.region))
    service.check_output_location()
    finished = service.run(args.sql, database=service.target.database)
    columns, rows = service.results(finished)
    _render(args, columns, rows)
    print(finished.summary(), file=sys.stderr)
    return 0


def run_ddl(args: argparse.Namespace) -> int:
    if not args.apply:
        given = _given(args, (*_ATHENA_ONLY, "region"))
        if given:
            raise AthenaError(f"{', '.join(given)}: only used with --apply")
    text, warnings, config = _ddl_for_output(args)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(text)
    sys.stdout.flush()
    if not args.apply:
        return 0
    service = AthenaService(_target(args, args.region or config.region))
    service.check_output_location()
    (spec,) = parse_ddl(text)
    finished = service.apply_ddl(text)
    target = service.target
    print(
        f"logtide athena: table {spec.name} created in {target.catalog}.{target.database} "
        f"(workgroup {target.workgroup}, query {finished[-1].id})",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return run_ddl(args) if args.command == "ddl" else run_query(args)
    except Cancelled as exc:
        print(f"logtide athena: {exc}", file=sys.stderr)
        return 130
    except LogtideError as exc:
        print(f"logtide athena: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("logtide athena: interrupted", file=sys.stderr)
        return 130
