"""moto's Athena for the ``--engine athena`` tests, over its HTTP API on 127.0.0.1.

moto runs no SQL. Every ``StartQueryExecution`` takes the next result set from a queue the
test fills through ``/moto-api/static/athena/query-results``, so results are seeded in the
order the statements will start. A result set is what Athena's ``GetQueryResults`` gives for
a query: a header row of the column names, then one row per result row, every value as text
(``VarCharValue``, absent for NULL), and the column types in ``ResultSetMetadata``.
An execution's state moves QUEUED -> RUNNING -> SUCCEEDED as the state manager says
(``/moto-api/state-manager/set-transition``); ``StopQueryExecution`` makes it CANCELLED.
moto reports 0 bytes scanned and 0 ms engine time for every statement.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tests.support.moto_server import MotoServer

EXECUTION_MODEL = "athena::execution"


def _post(moto: MotoServer, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{moto.endpoint}{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def poll_states(moto: MotoServer, polls: int | None) -> None:
    """Each state lasts ``polls`` GetQueryExecution calls; ``None``: moto's default."""
    if polls is None:
        _post(moto, "/moto-api/state-manager/unset-transition", {"model_name": EXECUTION_MODEL})
        return
    transition = {"progression": "manual", "times": polls}
    _post(
        moto,
        "/moto-api/state-manager/set-transition",
        {"model_name": EXECUTION_MODEL, "transition": transition},
    )


def athena_text(value: Any) -> dict[str, str]:
    """A cell as Athena writes it (Athena's timestamp text has milliseconds)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, float):
        return {"VarCharValue": repr(value)}
    if isinstance(value, datetime):
        return {"VarCharValue": value.isoformat(sep=" ", timespec="milliseconds")}
    if isinstance(value, date):
        return {"VarCharValue": value.isoformat()}
    return {"VarCharValue": str(value)}


def athena_type(values: list[Any]) -> str:
    """The Athena type of a result column, from its first non-NULL value."""
    for value in values:
        if value is None:
            continue
        for kind, name in (
            (bool, "boolean"),
            (int, "bigint"),
            (float, "double"),
            (Decimal, "decimal"),
            (datetime, "timestamp"),
            (date, "date"),
        ):
            if isinstance(value, kind):
                return name
        return "varchar"
    return "varchar"


def seed_result(moto: MotoServer, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Queue the result set of the next statement to start."""
    types = [athena_type([row[i] for row in rows]) for i in range(len(columns))]
    info = [
        {"Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN"}
        for name, kind in zip(columns, types, strict=True)
    ]
    header = {"Data": [{"VarCharValue": name} for name in columns]}
    data = [{"Data": [athena_text(v) for v in row]} for row in rows]
    result = {"rows": [header, *data], "column_info": info}
    _post(
        moto,
        "/moto-api/static/athena/query-results",
        {"region": moto.region, "results": [result]},
    )


def executions(moto: MotoServer) -> list[dict[str, Any]]:
    """Every statement moto's Athena received, as GetQueryExecution describes it."""
    client = moto.client("athena")
    ids = client.list_query_executions()["QueryExecutionIds"]
    return [client.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
