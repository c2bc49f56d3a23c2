"""The OpenX JSON SerDe's reading rules, applied to one record at a time.

- keys match columns case-insensitively (the SerDe lower-cases them), or through
  ``'mapping.<column>'='<json key>'`` SERDEPROPERTIES;
- a string holding a number fills a numeric column (``"4"`` -> 4), a number or object read
  into a ``string`` column becomes its JSON text;
- a line that is not a JSON object fails the query (HIVE_CURSOR_ERROR) unless
  ``'ignore.malformed.json'='true'``, which turns it into a row of NULLs;
- a value that cannot be converted to its column's type fails the query (HIVE_BAD_DATA).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from logtide.agent.companions.athena.table import AthenaError, Column, TableSpec

Converter = Callable[[Any], Any]
_INT_BOUNDS = {
    "tinyint": 2**7,
    "smallint": 2**15,
    "int": 2**31,
    "integer": 2**31,
    "bigint": 2**63,
}


class BadValue(ValueError):
    pass


def _integer(bits: int) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise BadValue
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            number = int(value.strip())
        else:
            raise BadValue
        if not -bits <= number < bits:
            raise BadValue
        return number

    return convert


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise BadValue from None
    raise BadValue


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        raise BadValue from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadValue


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise BadValue from None


def _timestamp(value: Any) -> str:
    if isinstance(value, bool):
        raise BadValue
    if isinstance(value, int | float):
        # Numbers are epoch milliseconds for the OpenX SerDe.
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise BadValue from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    else:
        raise BadValue
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def _passthrough(value: Any) -> Any:
    return value


def converter(column: Column) -> Converter:
    base = column.base
    if base in _INT_BOUNDS:
        return _integer(_INT_BOUNDS[base])
    if base in ("double", "float", "real"):
        return _double
    if base == "decimal":
        return _decimal
    if base == "boolean":
        return _boolean
    if base in ("string", "varchar", "char"):
        return _string
    if base == "date":
        return _date
    if base == "timestamp":
        return _timestamp
    return _passthrough


class RowReader:
    """Turns parsed JSON values into rows of the table's data columns."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.columns = spec.columns
        self.converters = [converter(c) for c in spec.columns]
        self.ignore_malformed = (
            spec.serde_properties.get("ignore.malformed.json", "").lower() == "true"
        )
        mapped = {
            key[len("mapping.") :].lower(): value.lower()
            for key, value in spec.serde_properties.items()
            if key.startswith("mapping.")
        }
        self.keys = [mapped.get(c.name, c.name) for c in spec.columns]
        self.malformed = 0

    def row(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, dict):
            if self.ignore_malformed:
                self.malformed += 1
                return [None] * len(self.columns)
            raise AthenaError(
                f"HIVE_CURSOR_ERROR: Row is not a valid JSON Object ({where}); add "
                "WITH SERDEPROPERTIES ('ignore.malformed.json'='true') to read it as NULLs"
            )
        lowered = {str(k).lower(): v for k, v in value.items()}
        out: list[Any] = []
        for column, key, convert in zip(self.columns, self.keys, self.converters, strict=True):
            raw = lowered.get(key)
            if raw is None:
                out.append(None)
                continue
            try:
                out.append(convert(raw))
            except BadValue:
                shown = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
                raise AthenaError(
                    f"HIVE_BAD_DATA: Error parsing field value '{shown[:80]}' for field "
                    f"{column.name} ({column.athena_type}) ({where})"
                ) from None
        return out
