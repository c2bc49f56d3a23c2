"""The tree nodes Fluent Bit's stream-processor language needs beyond standard SQL.

Everything else in a parsed statement is an ordinary sqlglot node (``exp.Create``,
``exp.Select``, ``exp.EQ``, ``exp.Column``, ``exp.Bracket``, ...).
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp


class TagSource(exp.Expression):
    """``FROM TAG:'pattern'``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class StreamSource(exp.Expression):
    """``FROM STREAM:name`` (an input's alias or name, or another stream)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class StreamWindow(exp.Expression):
    """``WINDOW TUMBLING (n unit)`` / ``WINDOW HOPPING (n unit, ADVANCE BY m unit)``."""

    arg_types: ClassVar[dict[str, bool]] = {"kind": True, "size": True, "advance": False}


class RecordContains(exp.Expression):
    """``@record.contains(key)``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class RecordTime(exp.Expression):
    """``@record.time()``: the record's timestamp as a float."""

    arg_types: ClassVar[dict[str, bool]] = {}


class ScalarFunc(exp.Expression):
    """``NOW()``, ``UNIX_TIMESTAMP()``, ``RECORD_TAG()``, ``RECORD_TIME()`` in a SELECT list."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class Forecast(exp.Expression):
    """``TIMESERIES_FORECAST(key, seconds)``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}


class FlushSnapshot(exp.Expression):
    """``FLUSH SNAPSHOT name [WITH (...)] AS SELECT * FROM source [WHERE ...];``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "properties": False, "expression": True}
