"""Athena itself, through boto3: a statement is started (``StartQueryExecution``), polled with
backoff until Athena says it is done (``GetQueryExecution``), and its rows paged
(``GetQueryResults``) and typed from the result set's metadata, so the same formatter prints
them as it prints DuckDB's. Ctrl-C while a statement runs stops it (``StopQueryExecution``):
an abandoned query would go on scanning, and billing, in the account.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from logtide.agent.companions.athena.scan import PRICE_PER_TB, billed_bytes, cost, human_bytes
from logtide.agent.companions.athena.table import AthenaError

DEFAULT_WORKGROUP = "primary"
DEFAULT_DATABASE = "default"
DEFAULT_CATALOG = "AwsDataCatalog"
DONE = ("SUCCEEDED", "FAILED", "CANCELLED")
# Athena's own queue and planning take a second or more; polling faster buys nothing and
# counts against the API's rate limit.
FIRST_POLL = 0.2
MAX_POLL = 5.0

_INTEGERS = ("tinyint", "smallint", "integer", "int", "bigint")
_FLOATS = ("double", "float", "real")


class Cancelled(AthenaError):
    """The user stopped the statement (Ctrl-C); it was stopped in Athena too."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where statements run: the workgroup, the result location, the default database."""

    workgroup: str = DEFAULT_WORKGROUP
    output_location: str | None = None
    database: str = DEFAULT_DATABASE
    catalog: str = DEFAULT_CATALOG
    region: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """A statement Athena finished with ``SUCCEEDED``."""

    id: str
    statement_type: str
    scanned: int
    engine_ms: int
    output: str | None

    def summary(self) -> str:
        results = f", results {self.output}" if self.output else ""
        return (
            f"Data scanned: {human_bytes(self.scanned)} ({self.scanned:,} bytes); engine time "
            f"{self.engine_ms / 1000:.3f} s; Athena bills {human_bytes(billed_bytes(self.scanned))}"
            f" = ${cost(self.scanned):.6f} at ${PRICE_PER_TB:g}/TB (query {self.id}{results})"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def value_of(cell: dict[str, Any], athena_type: str) -> Any:
    """A ``VarCharValue`` as the Python value DuckDB would give for the column's type; an
    absent value is SQL NULL. Text that does not parse as its type stays text."""
    if "VarCharValue" not in cell:
        return None
    text = str(cell["VarCharValue"])
    kind = athena_type.split("(", 1)[0].strip().lower()
    try:
        if kind in _INTEGERS:
            return int(text)
        if kind in _FLOATS:
            return float(text)
        if kind == "decimal":
            return Decimal(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "timestamp":
            return datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return text
    return text


class AthenaService:
    def __init__(self, target: Target) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, NoRegionError
        except ImportError:
            raise AthenaError(
                "the Athena engine needs boto3: pip install 'logtide[query]'"
            ) from None
        self.target = target
        try:
            self.client = boto3.client(
                "athena",
                # AWS_REGION as the S3 reads and the outputs take it; boto3 itself reads
                # only AWS_DEFAULT_REGION and the profile
                region_name=target.region or os.environ.get("AWS_REGION") or None,
                endpoint_url=target.endpoint,
                config=Config(retries={"mode": "standard"}),
            )
        except NoRegionError:
            raise AthenaError("no AWS region for Athena: give --region or set AWS_REGION") from None
        except BotoCoreError as exc:
            raise AthenaError(f"Athena client: {exc}") from None

    def _call(self, operation: str, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, _snake(operation))
        try:
            return method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "error")
            raise AthenaError(
                f"{operation}: {code}: {_one_line(error.get('Message', ''))}"
            ) from None
        except BotoCoreError as exc:
            raise AthenaError(f"{operation}: {_one_line(str(exc))}") from None

    def check_output_location(self) -> None:
        """Athena needs somewhere to write result files: ``--output-location`` or the
        workgroup's own setting. A workgroup that cannot be read is left to Athena to judge."""
        location = self.target.output_location
        if location is not None:
            if not location.startswith("s3://") or len(location) <= len("s3://"):
                raise AthenaError(
                    f"--output-location must be s3://bucket/prefix/, got {location!r}"
                )
            return
        try:
            group = self._call("GetWorkGroup", WorkGroup=self.target.workgroup).get("WorkGroup")
        except AthenaError:
            return
        if not group:
            return
        configuration = group.get("Configuration", {})
        if configuration.get("ResultConfiguration", {}).get("OutputLocation"):
            return
        if configuration.get("ManagedQueryResultsConfiguration", {}).get("Enabled"):
            return
        raise AthenaError(
            f"no --output-location, and workgroup {self.target.workgroup!r} sets none: give "
            "--output-location s3://bucket/prefix/ for Athena's result files"
        )

    def start(self, sql: str, *, database: str | None) -> str:
        context = {"Catalog": self.target.catalog}
        if database:
            context["Database"] = database
        params: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": context,
            "WorkGroup": self.target.workgroup,
        }
        if self.target.output_location:
            params["ResultConfiguration"] = {"OutputLocation": self.target.output_location}
        return str(self._call("StartQueryExecution", **params)["QueryExecutionId"])

    def wait(self, query_id: str) -> Finished:
        delay = FIRST_POLL
        while True:
            execution = self._call("GetQueryExecution", QueryExecutionId=query_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State", "")
            if state in DONE:
                break
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL)
        if state != "SUCCEEDED":
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get(
                "ErrorMessage", "Athena gave no reason"
            )
            raise AthenaError(f"query {query_id} {state}: {_one_line(reason)}")
        statistics = execution.get("Statistics", {})
        return Finished(
            query_id,
            execution.get("StatementType", ""),
            int(statistics.get("DataScannedInBytes", 0)),
            int(statistics.get("EngineExecutionTimeInMillis", 0)),
            execution.get("ResultConfiguration", {}).get("OutputLocation"),
        )

    def run(self, sql: str, *, database: str | None) -> Finished:
        """Start ``sql`` and wait for it; Ctrl-C stops it in Athena before giving up."""
        query_id = self.start(sql, database=database)
        try:
            return self.wait(query_id)
        except KeyboardInterrupt:
            self._call("StopQueryExecution", QueryExecutionId=query_id)
            raise Cancelled(f"query {query_id} stopped (Ctrl-C): StopQueryExecution sent") from None

    def _pages(self, query_id: str) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
        try:
            yield from pages
        except (ClientError, BotoCoreError) as exc:
            raise AthenaError(f"GetQueryResults: {_one_line(str(exc))}") from None

    def results(self, finished: Finished) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and typed rows. A query's (``DML``) first row is its header."""
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for number, page in enumerate(self._pages(finished.id)):
            result = page.get("ResultSet", {})
            if number == 0:
                info = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [str(c.get("Name", "")) for c in info]
                types = [str(c.get("Type", "varchar")) for c in info]
            data = result.get("Rows", [])
            if number == 0 and finished.statement_type == "DML":
                data = data[1:]
            for row in data:
                cells = row.get("Data", [])
                if len(cells) != len(columns):
                    raise AthenaError(
                        f"query {finished.id}: a row of {len(cells)} value(s) for "
                        f"{len(columns)} column(s)"
                    )
                rows.append(tuple(value_of(c, t) for c, t in zip(cells, types, strict=True)))
        return columns, rows

    def apply_ddl(self, ddl: str) -> list[Finished]:
        """The database (unless it is ``default``, which Athena always has), then the table."""
        done = []
        database = self.target.database
        if database.lower() != DEFAULT_DATABASE:
            create = f"CREATE DATABASE IF NOT EXISTS `{database.replace('`', '``')}`"
            done.append(self.run(create, database=None))
        done.append(self.run(ddl.strip().rstrip(";").rstrip(), database=database))
        return done


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
