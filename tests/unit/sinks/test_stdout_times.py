"""stdout prints a time no date can hold clamped, counts it, and never fails the batch."""

from __future__ import annotations

import orjson
import pytest

from logtide.sinks.stdout import StdoutOutput
from tests.support.plugins import build, plugin_context

T0 = 1795744014.0


async def test_a_year_10000_time_is_clamped_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    async with plugin_context("stdout.0") as context:
        out = build(StdoutOutput, context, format="json_lines", json_date_format="iso8601")
        await out.flush("app", [(T0, {"n": 0}), (253402300800.0, {"n": 1}), (T0, {"n": 2})])
        assert context.metrics.get("stdout.0", "time_clamped") == 1
    printed = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["n"] for r in printed] == [0, 1, 2]
    assert printed[1]["date"] == "9999-12-31T23:59:59.000000Z"
