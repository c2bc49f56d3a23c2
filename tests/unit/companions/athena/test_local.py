"""The local Athena over a folder of objects: SerDe rules, partition pruning and the bytes
scanned, Trino functions, and errors."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from logtide.agent.companions.athena.cli import main
from logtide.agent.companions.athena.local import LocalAthena, Result
from logtide.agent.companions.athena.objects import LocalSource
from logtide.agent.companions.athena.scan import MB, ScanReport, TableScan
from logtide.agent.companions.athena.table import AthenaError, parse_ddl

pytest.importorskip("duckdb")

BUCKET = "bkt"
NOW = datetime(2024, 5, 8, 12, tzinfo=UTC)
FLAT = """
CREATE EXTERNAL TABLE `eks_fb_s3`(
  `date` string, `item_id` string, `price` string, `quantity` int, `order_date` date,
  `state` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
{serde}
LOCATION 's3://bkt/fluent-bit-logs/states.ca/'
TBLPROPERTIES ('has_encrypted_data'='false')
"""
HIVE = """
CREATE EXTERNAL TABLE `sales` (`date` string, `item_id` string, `quantity` int)
PARTITIONED BY (`dt` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://bkt/hive/states.ca/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2024-05-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://bkt/hive/states.ca/dt=${dt}'
)
"""


def _lines(records: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _put(root: Path, key: str, data: bytes) -> int:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _query(root: Path, ddl: str, sql: str) -> Result:
    source = LocalSource(str(root), BUCKET)
    with LocalAthena(parse_ddl(ddl), lambda _: source, now=NOW) as athena:
        return athena.query(sql)


def _order(day: int, item: int, quantity: object = "2") -> dict[str, object]:
    return {
        "date": f"2024-05-0{day}T10:00:0{item % 10}.000000Z",
        "item_id": str(item),
        "price": "10",
        "quantity": quantity,
        "order_date": "2020-03-19",
        "state": "CA",
    }


def test_openx_rules_case_insensitive_keys_and_numeric_strings(tmp_path: Path) -> None:
    records = [
        {"DATE": "2024-05-01T10:00:00Z", "Item_ID": 7, "quantity": "3", "STATE": "CA"},
        {"date": "x", "quantity": 4, "order_date": "2020-01-02", "extra": {"a": 1}},
    ]
    _put(tmp_path, "fluent-bit-logs/states.ca/2024/05/01/10/00/00-objectA", _lines(records))
    result = _query(
        tmp_path,
        FLAT.format(serde=""),
        "SELECT date, item_id, quantity, order_date, state FROM eks_fb_s3 ORDER BY quantity",
    )
    assert result.columns == ["date", "item_id", "quantity", "order_date", "state"]
    assert result.rows[0] == ("2024-05-01T10:00:00Z", "7", 3, None, "CA")
    assert result.rows[1][2:4] == (4, datetime(2020, 1, 2).date())


def test_malformed_lines_fail_or_become_nulls(tmp_path: Path) -> None:
    _put(
        tmp_path,
        "fluent-bit-logs/states.ca/2024/05/01/10/00/00-objectA",
        _lines([_order(1, 1)]) + b"{not json\n",
    )
    with pytest.raises(AthenaError, match=r"HIVE_CURSOR_ERROR.*00-objectA line 2"):
        _query(tmp_path, FLAT.format(serde=""), "SELECT count(*) FROM eks_fb_s3")
    tolerant = FLAT.format(serde="WITH SERDEPROPERTIES ('ignore.malformed.json'='true')")
    result = _query(tmp_path, tolerant, "SELECT count(*), count(item_id) FROM eks_fb_s3")
    assert result.rows == [(2, 1)]
    assert any("1 malformed" in w for w in result.warnings)


def test_bad_value_for_int_column_is_hive_bad_data(tmp_path: Path) -> None:
    _put(
        tmp_path,
        "fluent-bit-logs/states.ca/2024/05/01/x",
        _lines([_order(1, 1, quantity="two")]),
    )
    with pytest.raises(AthenaError, match=r"HIVE_BAD_DATA.*'two'.*quantity"):
        _query(tmp_path, FLAT.format(serde=""), "SELECT * FROM eks_fb_s3")


def test_unpartitioned_table_scans_every_object(tmp_path: Path) -> None:
    sizes = [
        _put(tmp_path, f"fluent-bit-logs/states.ca/2024/05/0{d}/10/00/00-o", _lines([_order(d, d)]))
        for d in (1, 2, 3)
    ]
    _put(tmp_path, "elsewhere/2024/05/01/x", _lines([_order(1, 9)]))
    result = _query(
        tmp_path,
        FLAT.format(serde=""),
        "SELECT count(*) FROM eks_fb_s3 WHERE substr(date, 1, 10) = '2024-05-02'",
    )
    assert result.rows == [(1,)]
    assert result.scan.bytes == sum(sizes) and result.scan.objects == 3


def test_projection_prunes_to_the_days_asked(tmp_path: Path) -> None:
    sizes = {}
    for day in range(1, 8):
        data = gzip.compress(_lines([_order(day, i) for i in range(5)]), mtime=0)
        sizes[day] = _put(tmp_path, f"hive/states.ca/dt=2024-05-0{day}/10-00-00-abc.gz", data)
    _put(tmp_path, "hive/states.ca/dt=2023-01-01/old.gz", gzip.compress(b"{}\n"))
    one_day = _query(tmp_path, HIVE, "SELECT count(*) FROM sales WHERE dt = '2024-05-03'")
    assert one_day.rows == [(5,)]
    assert one_day.scan.bytes == sizes[3] and one_day.scan.objects == 1
    assert one_day.warnings == []
    two_days = _query(
        tmp_path,
        HIVE,
        "SELECT s.dt, count(*) FROM sales s WHERE s.dt IN ('2024-05-01', '2024-05-07') "
        "AND quantity > 0 GROUP BY 1 ORDER BY 1",
    )
    assert two_days.rows == [("2024-05-01", 5), ("2024-05-07", 5)]
    assert two_days.scan.bytes == sizes[1] + sizes[7]
    # Outside the projection range (2023) is not part of the table at all.
    every = _query(tmp_path, HIVE, "SELECT count(*) FROM sales")
    assert every.rows == [(35,)] and every.scan.bytes == sum(sizes.values())


def test_gzip_without_extension_is_read_with_a_warning(tmp_path: Path) -> None:
    _put(tmp_path, "hive/states.ca/dt=2024-05-01/obj", gzip.compress(_lines([_order(1, 1)])))
    result = _query(tmp_path, HIVE, "SELECT count(*) FROM sales")
    assert result.rows == [(1,)]
    assert len(result.warnings) == 1 and "without a .gz extension" in result.warnings[0]


def test_injected_partitions_need_an_equality(tmp_path: Path) -> None:
    ddl = HIVE.replace("PARTITIONED BY (`dt` string)", "PARTITIONED BY (`ns` string)")
    ddl = ddl.replace("'projection.dt.type'='date'", "'projection.ns.type'='injected'")
    ddl = ddl.replace("dt=${dt}", "${ns}")
    _put(tmp_path, "hive/states.ca/web/a", _lines([_order(1, 1)]))
    _put(tmp_path, "hive/states.ca/db/a", _lines([_order(1, 2), _order(1, 3)]))
    with pytest.raises(AthenaError, match=r"CONSTRAINT_VIOLATION.*injected.*ns"):
        _query(tmp_path, ddl, "SELECT count(*) FROM sales")
    result = _query(tmp_path, ddl, "SELECT count(*) FROM sales WHERE ns = 'db'")
    assert result.rows == [(2,)] and result.scan.objects == 1


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("date_trunc('hour', from_iso8601_timestamp(date))", "2024-05-01 10:00:00"),
        ("date_format(from_iso8601_timestamp(date), '%Y-%m-%d %H:%i')", "2024-05-01 10:00"),
        ("approx_distinct(item_id)", "1"),
        ("to_unixtime(from_iso8601_timestamp(date))", "1714557605.0"),
        ("date_parse('2024-05-01 10:00', '%Y-%m-%d %H:%i')", "2024-05-01 10:00:00"),
        ("regexp_like(item_id, '^[0-9]+$')", "True"),
        ("split_part(date, 'T', 1)", "2024-05-01"),
        ("try_cast(price AS integer) * quantity", "20"),
        ("json_extract_scalar('{\"a\": \"x\"}', '$.a')", "x"),
        ("approx_percentile(quantity, 0.5)", "2"),
        ("count_if(quantity > 1)", "1"),
        ("arbitrary(state)", "CA"),
        ("day_of_week(order_date)", "4"),
    ],
)
def test_trino_functions(tmp_path: Path, expression: str, expected: str) -> None:
    _put(tmp_path, "fluent-bit-logs/states.ca/x", _lines([_order(1, 5)]))
    aggregate = expression.split("(")[0] in (
        "approx_distinct",
        "approx_percentile",
        "count_if",
        "arbitrary",
    )
    sql = f"SELECT {expression} FROM eks_fb_s3" + ("" if aggregate else " LIMIT 1")
    result = _query(tmp_path, FLAT.format(serde=""), sql)
    value = result.rows[0][0]
    text = (
        value.replace(tzinfo=None).isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    )
    assert text == expected
    assert result.columns == ["_col0"]


def test_functions_without_a_local_equivalent_fail_clearly(tmp_path: Path) -> None:
    _put(tmp_path, "fluent-bit-logs/states.ca/x", _lines([_order(1, 5)]))
    with pytest.raises(
        AthenaError, match=r"FUNCTION_NOT_FOUND: .*no_such_fn.*may still run in Athena"
    ):
        _query(tmp_path, FLAT.format(serde=""), "SELECT no_such_fn(item_id) FROM eks_fb_s3")


def test_unknown_table_and_bad_sql(tmp_path: Path) -> None:
    with pytest.raises(
        AthenaError, match=r"TABLE_NOT_FOUND: Table 'awsdatacatalog\.default\.nope'"
    ):
        _query(tmp_path, FLAT.format(serde=""), "SELECT * FROM nope")
    with pytest.raises(AthenaError, match="SYNTAX_ERROR"):
        _query(tmp_path, FLAT.format(serde=""), "SELECT FROM WHERE (")
    with pytest.raises(AthenaError, match="only queries"):
        _query(tmp_path, FLAT.format(serde=""), "DROP TABLE eks_fb_s3")


def test_qualified_names_and_ctes(tmp_path: Path) -> None:
    _put(tmp_path, "fluent-bit-logs/states.ca/x", _lines([_order(1, 5), _order(2, 6)]))
    result = _query(
        tmp_path,
        FLAT.format(serde=""),
        'WITH t AS (SELECT * FROM "awsdatacatalog"."default"."eks_fb_s3") '
        "SELECT count(*) AS n FROM t",
    )
    assert result.rows == [(2,)] and result.columns == ["n"]


def test_scan_cost_has_a_10_mb_minimum() -> None:
    small = ScanReport([TableScan("t", 1, 1234, 1)])
    assert small.billed_bytes == 10 * MB
    assert small.cost == pytest.approx(10 / 1024 / 1024 * 5)
    large = ScanReport([TableScan("t", 3, 25 * MB + 1, 1)])
    assert large.billed_bytes == 26 * MB
    assert "$0.000124" in large.summary()


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _put(tmp_path, "fluent-bit-logs/states.ca/x", _lines([_order(1, 5), _order(2, 6)]))
    ddl = tmp_path / "t.sql"
    ddl.write_text(FLAT.format(serde="").replace("s3://bkt/", "s3://other/"))
    base = ["query", "--ddl", str(ddl), "--local", str(tmp_path), "--bucket", BUCKET]
    sql = "SELECT item_id, quantity FROM eks_fb_s3 ORDER BY item_id"
    assert main([*base, "--format", "csv", sql]) == 0
    out, err = capsys.readouterr()
    assert out == "item_id,quantity\n5,2\n6,2\n"
    assert "Data scanned:" in err and "10.00 MB" in err
    assert main([*base, "--format", "json", sql]) == 0
    assert capsys.readouterr().out.splitlines()[0] == '{"item_id":"5","quantity":2}'
    assert main([*base, sql]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(2 rows)"
    assert main([*base, "SELECT nope FROM eks_fb_s3"]) == 1
    assert capsys.readouterr().err.startswith("logtide athena: local query failed")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM eks_fb_s3, LATERAL read_csv('/etc/passwd')",
        "SELECT * FROM eks_fb_s3, LATERAL read_text('/etc/hostname')",
        "SELECT * FROM eks_fb_s3, LATERAL read_csv('http://127.0.0.1:9/x.csv')",
    ],
)
def test_queries_cannot_read_files_or_urls(tmp_path: Path, sql: str) -> None:
    _put(tmp_path, "fluent-bit-logs/states.ca/2024/05/01/10/00/00-o", _lines([_order(1, 1)]))
    # a table function straight in FROM is not a table of the DDL
    with pytest.raises(AthenaError, match="TABLE_NOT_FOUND"):
        _query(tmp_path, FLAT.format(serde=""), "SELECT * FROM read_csv('/etc/passwd')")
    # past that check (LATERAL), DuckDB itself refuses: external access is off
    with pytest.raises(AthenaError, match=r"local query failed: Permission Error"):
        _query(tmp_path, FLAT.format(serde=""), sql)
    # the table itself (loaded from the connection's own folder) still reads
    result = _query(tmp_path, FLAT.format(serde=""), "SELECT count(*) FROM eks_fb_s3")
    assert result.rows == [(1,)]
