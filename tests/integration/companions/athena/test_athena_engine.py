"""``logtide athena query --engine athena`` and ``logtide athena ddl --apply`` against moto's
Athena over HTTP on 127.0.0.1.

moto does not run SQL (see :mod:`.moto_athena`): each test seeds the rows DuckDB computes on
the same objects, so what is checked is everything around the SQL — what Athena receives
(query text, workgroup, output location, database), the polling to a final state, the paging
and typing of the results, the printed table (the same bytes as the DuckDB path prints), the
statistics line, the stop on Ctrl-C and the one-line errors.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from logtide.agent.companions.athena.cli import main
from logtide.agent.companions.athena.local import LocalAthena
from logtide.agent.companions.athena.objects import S3Source
from logtide.agent.companions.athena.table import parse_ddl
from tests.integration.companions.athena.moto_athena import executions, poll_states, seed_result
from tests.support.cli import start_logtide
from tests.support.fault_proxy import Fault, FaultProxy, Forward, Request, Response
from tests.support.moto_server import MotoServer

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parents[4]
BUCKET = "eks-fb-logs"
RESULTS = "s3://athena-results/logtide/"
WORKGROUP = "logs"
ARTICLE_SELECT = "SELECT * from eks_fb_s3\nLIMIT 10"
CA_SALES = (ROOT / "examples/athena/ca_sales_by_category.sql").read_text()
RECORDS = [
    {
        "date": f"2024-05-01T00:0{i}:00.000000Z",
        "item_id": str(i * 7 % 11),
        "product_category": ("Garden", "Office", "Kitchen")[i % 3],
        "price": str(5 + i % 4),
        "quantity": str(1 + i % 3),
        "order_date": f"2024-04-2{i}",
        "state": "CA",
        "shipping_type": ("2-Day", "Overnight")[i % 2],
        **({"referral": "Friend/Colleague"} if i % 4 else {}),
    }
    for i in range(8)
]


@pytest.fixture
def athena(moto: MotoServer) -> Iterator[MotoServer]:
    """moto with the article's objects in S3, a workgroup, and executions that take two
    polls to finish (RUNNING, then SUCCEEDED), so the client must poll."""
    s3 = moto.client("s3")
    for bucket in (BUCKET, "athena-results"):
        s3.create_bucket(Bucket=bucket)
    for part in range(2):
        body = b"".join(orjson.dumps(r) + b"\n" for r in RECORDS[part * 4 : part * 4 + 4])
        key = f"fluent-bit-logs/states.ca/2024/05/01/00/0{part}/00-object{part:08d}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    moto.client("athena").create_work_group(Name=WORKGROUP, Configuration={})
    poll_states(moto, 1)
    yield moto
    poll_states(moto, None)


def _article_ddl(tmp_path: Path) -> Path:
    text = (ROOT / "examples/athena/article_table.sql").read_text()
    path = tmp_path / "article_table.sql"
    path.write_text(text.replace("<<YOUR S3 BUCKET>>", BUCKET))
    return path


def _athena_args(moto: MotoServer, endpoint: str | None = None) -> list[str]:
    return [
        "--engine",
        "athena",
        "--athena-endpoint",
        endpoint or moto.endpoint,
        "--region",
        moto.region,
        "--workgroup",
        WORKGROUP,
    ]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("sql", [ARTICLE_SELECT, CA_SALES], ids=["select-limit-10", "ca-sales"])
def test_article_query_prints_the_table_duckdb_prints(
    athena: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    ddl = _article_ddl(tmp_path)
    code, duckdb_table, _ = _run(
        capsys, "query", "--ddl", str(ddl), "--endpoint", athena.endpoint, sql
    )
    assert code == 0
    (spec,) = parse_ddl(ddl.read_text())
    with LocalAthena([spec], lambda _: S3Source(BUCKET, athena.endpoint)) as local:
        computed = local.query(sql)
    seed_result(athena, computed.columns, computed.rows)

    code, out, err = _run(capsys, "query", *_athena_args(athena), "--output-location", RESULTS, sql)

    assert code == 0, err
    assert out == duckdb_table
    assert len(computed.rows) > 1 and f"({len(computed.rows)} rows)" in out
    (execution,) = executions(athena)
    assert execution["Query"] == sql
    assert execution["WorkGroup"] == WORKGROUP
    assert execution["QueryExecutionContext"] == {
        "Database": "default",
        "Catalog": "AwsDataCatalog",
    }
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"{RESULTS}{execution['QueryExecutionId']}.csv"
    summary = err.strip().splitlines()
    assert summary == [
        "Data scanned: 0 B (0 bytes); engine time 0.000 s; Athena bills 10.00 MB = $0.000048 "
        f"at $5/TB (query {execution['QueryExecutionId']}, results {location})"
    ]


def test_select_star_keeps_nulls_dates_and_numbers(
    athena: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The typed values (int quantity, date order_date, NULL referral) print as DuckDB's do:
    right-aligned numbers, ISO dates, empty NULLs, in the CSV and JSON formats too."""
    ddl = _article_ddl(tmp_path)
    sql = "SELECT quantity, order_date, referral FROM eks_fb_s3 ORDER BY order_date"
    (spec,) = parse_ddl(ddl.read_text())
    with LocalAthena([spec], lambda _: S3Source(BUCKET, athena.endpoint)) as local:
        computed = local.query(sql)
    assert None in {row[2] for row in computed.rows}
    for fmt in ("csv", "json"):
        seed_result(athena, computed.columns, computed.rows)
        code, out, err = _run(
            capsys,
            "query",
            *_athena_args(athena),
            "--output-location",
            RESULTS,
            "--format",
            fmt,
            sql,
        )
        assert code == 0, err
        _, local_out, _ = _run(
            capsys, "query", "--ddl", str(ddl), "--endpoint", athena.endpoint, "--format", fmt, sql
        )
        assert out == local_out
    assert '{"quantity":1,"order_date":"2024-04-20","referral":null}' in out


def test_workgroup_output_location_or_one_line(
    athena: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "query", *_athena_args(athena), "SELECT 1")
    assert (code, out) == (1, "")
    assert err == (
        "logtide athena: no --output-location, and workgroup 'logs' sets none: give "
        "--output-location s3://bucket/prefix/ for Athena's result files\n"
    )
    assert executions(athena) == []

    athena.client("athena").create_work_group(
        Name="with-results",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://athena-results/wg/"}},
    )
    seed_result(athena, ["one"], [(1,)])
    args = [*_athena_args(athena), "--workgroup", "with-results"]
    code, out, err = _run(capsys, "query", *args, "SELECT 1 AS one")
    assert code == 0, err
    assert out == "one\n---\n  1\n(1 row)\n"
    # the client sends no location: Athena writes where the workgroup says (moto keeps none)
    (execution,) = executions(athena)
    assert "ResultConfiguration" not in execution


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--workgroup", "nope", "--output-location", RESULTS],
            "logtide athena: StartQueryExecution: InvalidRequestException: WorkGroup does not exist",
        ),
        (
            ["--output-location", "athena-results/x"],
            "logtide athena: --output-location must be s3://bucket/prefix/, got 'athena-results/x'",
        ),
    ],
)
def test_bad_athena_settings_one_line(
    athena: MotoServer, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    code, out, err = _run(capsys, "query", *_athena_args(athena), *argv, "SELECT 1")
    assert (code, out, err) == (1, "", line + "\n")


def _failing(reason: str) -> Fault:
    """A stand-in for the FAILED state only, which moto's executions never reach: the real
    GetQueryExecution answer from moto, with its state turned to FAILED and Athena's reason."""

    async def fault(request: Request, forward: Forward) -> Response:
        answer = await forward(request)
        body = orjson.loads(answer.body)
        status = body["QueryExecution"]["Status"]
        status.update(State="FAILED", StateChangeReason=reason)
        return Response(answer.status, answer.headers, orjson.dumps(body))

    return fault


REASON = "COLUMN_NOT_FOUND: line 1:8: Column 'revenue' cannot be resolved"


def test_failed_query_one_line_with_athenas_reason(
    athena: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(athena.endpoint) as proxy:
        proxy.inject(_failing(REASON + "\n or accessible"), operation="GetQueryExecution")
        code, out, err = _run(
            capsys,
            "query",
            *_athena_args(athena, proxy.endpoint),
            "--output-location",
            RESULTS,
            "SELECT revenue FROM eks_fb_s3",
        )
        assert proxy.calls("GetQueryResults") == []
    (execution,) = executions(athena)
    assert (code, out) == (1, "")
    assert err == (
        f"logtide athena: query {execution['QueryExecutionId']} FAILED: {REASON} or accessible\n"
    )


def test_ctrl_c_stops_the_query_in_athena(athena: MotoServer) -> None:
    poll_states(athena, 1_000_000)  # never finishes on its own
    with FaultProxy(athena.endpoint) as proxy:
        process = start_logtide(
            "athena",
            "query",
            *_athena_args(athena, proxy.endpoint),
            "--output-location",
            RESULTS,
            "SELECT count(*) FROM eks_fb_s3",
            # as from a terminal, even when the suite runs as a background job (SIGINT ignored)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 60
        while not proxy.calls("GetQueryExecution"):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert len(proxy.calls("StopQueryExecution")) == 1
    (execution,) = executions(athena)
    query_id = execution["QueryExecutionId"]
    assert execution["Status"]["State"] == "CANCELLED"
    assert (process.returncode, out) == (130, "")
    assert err == (f"logtide athena: query {query_id} stopped (Ctrl-C): StopQueryExecution sent\n")


def _s3_config(tmp_path: Path, moto: MotoServer) -> tuple[Path, Path]:
    config = tmp_path / "fluent-bit.conf"
    config.write_text(
        f"""\
[OUTPUT]
    Name s3
    Match states.ca
    bucket {BUCKET}
    region {moto.region}
    store_dir {tmp_path / "store"}
    s3_key_format /logs/$TAG/dt=%Y-%m-%d/$UUID.gz
    compression gzip
"""
    )
    sample = tmp_path / "sample.jsonl"
    sample.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    return config, sample


def _ddl_apply(moto: MotoServer, tmp_path: Path, endpoint: str) -> list[str]:
    config, sample = _s3_config(tmp_path, moto)
    return [
        "ddl",
        "-c",
        str(config),
        "--sample",
        str(sample),
        "--table",
        "ca_sales",
        "--since",
        "2024-05-01",
        "--apply",
        "--athena-endpoint",
        endpoint,
        "--workgroup",
        WORKGROUP,
        "--database",
        "k8s_logs",
        "--output-location",
        RESULTS,
    ]


def test_ddl_apply_creates_database_and_table(
    athena: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, ddl, err = _run(capsys, *_ddl_apply(athena, tmp_path, athena.endpoint))
    assert code == 0, err
    assert ddl.startswith("CREATE EXTERNAL TABLE `ca_sales` (") and ddl.endswith(";\n")
    database, table = executions(athena)
    assert database["Query"] == "CREATE DATABASE IF NOT EXISTS `k8s_logs`"
    assert database["QueryExecutionContext"] == {"Catalog": "AwsDataCatalog"}
    assert table["Query"] == ddl.removesuffix(";\n")
    assert table["QueryExecutionContext"] == {"Database": "k8s_logs", "Catalog": "AwsDataCatalog"}
    assert {database["WorkGroup"], table["WorkGroup"]} == {WORKGROUP}
    client = athena.client("athena")
    found = client.get_database(CatalogName="AwsDataCatalog", DatabaseName="k8s_logs")
    assert found["Database"]["Name"] == "k8s_logs"
    assert err == (
        "logtide athena: table ca_sales created in AwsDataCatalog.k8s_logs "
        f"(workgroup {WORKGROUP}, query {table['QueryExecutionId']})\n"
    )


def test_ddl_apply_failure_one_line(
    athena: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "AlreadyExistsException: Table ca_sales already exists"
    with FaultProxy(athena.endpoint) as proxy:
        proxy.inject(_failing(reason), operation="GetQueryExecution")
        code, ddl, err = _run(capsys, *_ddl_apply(athena, tmp_path, proxy.endpoint))
    (database,) = executions(athena)
    assert code == 1 and ddl.startswith("CREATE EXTERNAL TABLE")
    assert err == f"logtide athena: query {database['QueryExecutionId']} FAILED: {reason}\n"
