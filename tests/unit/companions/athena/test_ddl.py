"""``logtide athena ddl``: columns, SerDe, quoting and partition projection from s3_key_format,
checked by parsing the DDL back with sqlglot's Athena dialect."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
import sqlglot
from sqlglot import exp

from logtide.agent.companions.athena.cli import ddl_text, main
from logtide.agent.companions.athena.ddl import infer_columns
from logtide.agent.companions.athena.layout import layout_for
from logtide.agent.companions.athena.table import OPENX_SERDE, PARQUET_SERDE, AthenaError, parse_ddl

RECORD = {
    "date": "2024-05-03T10:00:00.000000Z",
    "item_id": "39",
    "product_category": "Office",
    "price": "78",
    "quantity": "1",
    "order_date": "2020-10-11",
    "state": "CA",
    "stream": "stdout",
    "time": "2024-05-03T10:00:00.1Z",
}

CONFIG = """\
[OUTPUT]
    Name s3
    Match states.ca
    bucket logs-bucket
    region us-east-1
{extra}
[OUTPUT]
    Name null
    Match *
"""


def _config(tmp_path: Path, extra: str = "", match: str = "states.ca") -> str:
    path = tmp_path / "fluent-bit.conf"
    path.write_text(CONFIG.format(extra=extra).replace("Match states.ca", f"Match {match}"))
    return str(path)


def _args(config: str, **overrides: object) -> SimpleNamespace:
    sample = Path(config).with_name("sample.jsonl")
    sample.write_bytes(orjson.dumps(RECORD) + b"\n")
    values: dict[str, object] = {
        "config": config,
        "output": None,
        "table": None,
        "tag": None,
        "sample": [str(sample)],
        "sample_s3": False,
        "column": [],
        "since": None,
        "endpoint": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_fluent_bit_default_layout_projects_one_datehour_partition(tmp_path: Path) -> None:
    text, warnings = ddl_text(_args(_config(tmp_path), column=["quantity:int"]))
    assert warnings == []
    statement = sqlglot.parse_one(text, read="athena")
    assert isinstance(statement, exp.Create)
    (spec,) = parse_ddl(text)
    assert spec.name == "states_ca"
    assert spec.serde == OPENX_SERDE and spec.format == "json"
    assert spec.location == "s3://logs-bucket/fluent-bit-logs/states.ca/"
    assert [c.name for c in spec.columns][:2] == ["date", "item_id"]
    assert spec.column("quantity") is not None and spec.column("quantity").athena_type == "integer"  # type: ignore[union-attr]
    assert [p.name for p in spec.partitions] == ["datehour"]
    assert spec.serde_properties == {"ignore.malformed.json": "true"}
    assert spec.properties["projection.enabled"] == "true"
    assert spec.properties["projection.datehour.type"] == "date"
    assert spec.properties["projection.datehour.format"] == "yyyy/MM/dd/HH"
    assert spec.properties["projection.datehour.interval.unit"] == "HOURS"
    assert spec.properties["projection.datehour.range"] == "NOW-1YEARS,NOW"
    assert (
        spec.properties["storage.location.template"]
        == "s3://logs-bucket/fluent-bit-logs/states.ca/${datehour}"
    )
    assert "`date`" in text  # reserved word quoted


def test_hive_layout_with_gzip_and_since(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "    s3_key_format /logs/$TAG[1]/dt=%Y-%m-%d/%H-%M-%S-$UUID.gz\n    compression gzip",
    )
    text, warnings = ddl_text(_args(config, since="2024-05-01", table="ca"))
    assert warnings == []
    (spec,) = parse_ddl(text)
    assert spec.location == "s3://logs-bucket/logs/ca/"
    assert [p.name for p in spec.partitions] == ["dt"]
    assert spec.properties["projection.dt.format"] == "yyyy-MM-dd"
    assert spec.properties["projection.dt.range"] == "2024-05-01,NOW"
    assert spec.properties["projection.dt.interval.unit"] == "DAYS"
    assert spec.properties["storage.location.template"] == "s3://logs-bucket/logs/ca/dt=${dt}"


def test_gzip_without_extension_warns(tmp_path: Path) -> None:
    config = _config(tmp_path, "    compression gzip")
    _, warnings = ddl_text(_args(config))
    assert len(warnings) == 1 and "does not end in .gz" in warnings[0]


def test_parquet_is_stored_as_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    config = _config(tmp_path, "    format parquet\n    compression snappy")
    text, _ = ddl_text(_args(config))
    assert "STORED AS PARQUET" in text and "SERDE" not in text
    (spec,) = parse_ddl(text)
    assert spec.format == "parquet" and spec.serde == PARQUET_SERDE


def test_record_field_partitions_are_injected() -> None:
    layout = layout_for(
        "/k8s/${kubernetes['namespace_name']}/%Y/%m/%d/$UUID", "b", "kube.x", since=None
    )
    assert layout.partitions == ["namespace_name", "dt"]
    assert layout.properties["projection.namespace_name.type"] == "injected"
    assert layout.template == "s3://b/k8s/${namespace_name}/${dt}"


def test_tag_with_wildcard_match_needs_tag(tmp_path: Path) -> None:
    config = _config(tmp_path, match="states.*")
    with pytest.raises(AthenaError, match="give --tag"):
        ddl_text(_args(config))
    text, _ = ddl_text(_args(config, tag="states.ny"))
    assert "s3://logs-bucket/fluent-bit-logs/states.ny/" in text


def test_inferred_types_and_odd_keys() -> None:
    columns = infer_columns(
        [
            {"n": 1, "f": 1.5, "b": True, "o": {"a": 1}, "kubernetes.pod": "x", "Mixed": 1},
            {"n": 2, "f": 2, "mixed": "a"},
        ]
    )
    assert columns.types == {
        "n": "bigint",
        "f": "double",
        "b": "boolean",
        "o": "string",
        "kubernetes_pod": "string",
        "mixed": "string",
    }
    assert columns.mappings() == {"kubernetes_pod": "kubernetes.pod"}


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["ddl", "-c", config, "--output", "s3.7"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("logtide athena:") and "s3.0" in err and err.count("\n") == 1
    assert main(["ddl", "-c", config]) == 1
    assert "no columns" in capsys.readouterr().err
    assert main(["ddl", "-c", config, "--column", "x:integerish"]) == 1
    assert "NAME:TYPE" in capsys.readouterr().err


def test_cli_reads_config_through_the_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "    bogus_key 1")
    assert main(["ddl", "-c", config, "--column", "a:string"]) == 1
    assert "bogus_key" in capsys.readouterr().err


@pytest.mark.parametrize(
    "spelling",
    ["$kubernetes['namespace_name']", "${kubernetes['namespace_name']}"],
)
def test_both_record_field_spellings_give_one_layout(spelling: str) -> None:
    """The s3 output fills ``$field`` and ``${field}`` alike; so must the table's layout."""
    layout = layout_for(f"/k8s/{spelling}/%Y/%m/%d/%H/$UUID.gz", "b", "kube.x", since=None)
    assert layout.location_prefix == "k8s/"
    assert layout.partitions == ["namespace_name", "datehour"]
    assert layout.properties["projection.namespace_name.type"] == "injected"
    assert layout.template == "s3://b/k8s/${namespace_name}/${datehour}"


def test_hive_record_field_and_tag_parts_use_the_outputs_parsing() -> None:
    layout = layout_for("/logs/$TAG[1]/ns=$kubernetes['namespace_name']/$UUID", "b", "kube.ca")
    assert layout.location_prefix == "logs/ca/"
    assert layout.partitions == ["ns"]
    assert layout.properties["projection.ns.type"] == "injected"
    assert layout.template == "s3://b/logs/ca/ns=${ns}"
