"""The Athena engine's pieces that need no server: typing Athena's text values, paging past
the header row, the polling backoff, the statistics line, and the one-line option errors.
(The whole path against moto's Athena over HTTP: tests/integration/companions/athena.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import Stubber

from logtide.agent.companions.athena import service as service_module
from logtide.agent.companions.athena.cli import main
from logtide.agent.companions.athena.service import AthenaService, Finished, Target, value_of


@pytest.mark.parametrize(
    ("cell", "kind", "value"),
    [
        ({"VarCharValue": "42"}, "bigint", 42),
        ({"VarCharValue": "7"}, "integer", 7),
        ({"VarCharValue": "1.5E10"}, "double", 1.5e10),
        ({"VarCharValue": "NaN"}, "real", "nan"),
        ({"VarCharValue": "12.50"}, "decimal(10,2)", Decimal("12.50")),
        ({"VarCharValue": "true"}, "boolean", True),
        ({"VarCharValue": "2024-05-01"}, "date", date(2024, 5, 1)),
        (
            {"VarCharValue": "2024-05-01 10:11:12.345"},
            "timestamp",
            datetime(2024, 5, 1, 10, 11, 12, 345000),
        ),
        (
            {"VarCharValue": "2024-05-01 10:11:12.345 UTC"},
            "timestamp with time zone",
            "2024-05-01 10:11:12.345 UTC",
        ),
        ({"VarCharValue": "[1, 2]"}, "array", "[1, 2]"),
        ({"VarCharValue": "abc"}, "varchar", "abc"),
        ({"VarCharValue": ""}, "varchar", ""),
        ({"VarCharValue": "oops"}, "bigint", "oops"),
        ({}, "bigint", None),
        ({}, "varchar", None),
    ],
)
def test_values_typed_from_the_metadata(cell: dict[str, str], kind: str, value: Any) -> None:
    got = value_of(cell, kind)
    if value == "nan":
        assert got != got
    else:
        assert got == value and type(got) is type(value)


def _service() -> AthenaService:
    # never contacted: every call below is answered by the stubber
    return AthenaService(Target(region="us-east-1", endpoint="http://127.0.0.1:9"))


def _page(rows: list[list[str | None]], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in rows],
            "ResultSetMetadata": {
                "ColumnInfo": [
                    {"Name": "category", "Type": "varchar"},
                    {"Name": "units", "Type": "bigint"},
                ]
            },
        }
    }
    if token:
        page["NextToken"] = token
    return page


def test_results_page_on_and_drop_only_the_first_pages_header() -> None:
    service = _service()
    finished = Finished("q-1", "DML", 0, 0, None)
    with Stubber(service.client) as stub:
        first = _page([["category", "units"], ["Garden", "3"]], token="t2")
        stub.add_response("get_query_results", first, {"QueryExecutionId": "q-1"})
        second = _page([["category", "units"], ["Office", None]])
        stub.add_response(
            "get_query_results", second, {"QueryExecutionId": "q-1", "NextToken": "t2"}
        )
        columns, rows = service.results(finished)
    # "category","units" on page two is a row of data: Athena sends the header once
    assert columns == ["category", "units"]
    assert rows == [("Garden", 3), ("category", "units"), ("Office", None)]


def test_polls_back_off_until_done(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(service_module.time, "sleep", slept.append)
    service = _service()
    states = ["QUEUED", "RUNNING", *["RUNNING"] * 5, "SUCCEEDED"]
    with Stubber(service.client) as stub:
        for state in states:
            execution: dict[str, Any] = {"QueryExecutionId": "q", "Status": {"State": state}}
            if state == "SUCCEEDED":
                execution["StatementType"] = "DML"
                execution["Statistics"] = {
                    "DataScannedInBytes": 3 * 1024 * 1024 + 1,
                    "EngineExecutionTimeInMillis": 1234,
                }
            stub.add_response("get_query_execution", {"QueryExecution": execution})
        finished = service.wait("q")
    assert slept == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert finished.summary() == (
        "Data scanned: 3.00 MB (3,145,729 bytes); engine time 1.234 s; Athena bills 10.00 MB "
        "= $0.000048 at $5/TB (query q)"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["query", "--engine", "presto", "SELECT 1"],
            "unknown --engine 'presto': duckdb (embedded, the default) or athena",
        ),
        (
            ["query", "SELECT 1"],
            "--ddl FILE is required: the CREATE EXTERNAL TABLE DuckDB reads",
        ),
        (
            [
                "query",
                "--ddl",
                "t.sql",
                "--workgroup",
                "wg",
                "--output-location",
                "s3://r/",
                "SELECT 1",
            ],
            "--workgroup, --output-location: not used by --engine duckdb; they are for --engine athena",
        ),
        (
            ["query", "--engine", "athena", "--ddl", "t.sql", "--local", "dir", "SELECT 1"],
            "--ddl, --local: not used by --engine athena; Athena reads the table from its catalog "
            "(create it with logtide athena ddl --apply)",
        ),
        (
            ["ddl", "-c", "x.conf", "--database", "logs"],
            "--database: only used with --apply",
        ),
    ],
)
def test_option_mistakes_one_line(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"logtide athena: {line}\n")
