"""parse_rfc3339: the docker/CRI fast path agrees with datetime on every shape, and a time
is Fluent Bit's double (whole seconds + nanoseconds / 1e9), so it prints as Fluent Bit's."""

from __future__ import annotations

from datetime import datetime

import pytest

from logtide.agent.parsers.multiline.text import parse_rfc3339


def _reference(value: str) -> float:
    head, _, rest = value.partition(".")
    digits = rest.rstrip("Z")
    whole = int(datetime.fromisoformat(f"{head}+00:00").timestamp())
    return whole + int(digits[:9].ljust(9, "0")) / 1e9


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-27T00:00:00.001000001Z",
        "2026-11-27T23:59:59.999999999Z",
        "2026-11-27T10:15:00.5Z",
        "2026-11-27T10:15:00.123456Z",
        "1970-01-01T00:00:00.000001Z",
        "2024-02-29T12:00:00.0000009Z",
    ],
)
def test_fast_path_equals_datetime(value: str) -> None:
    assert parse_rfc3339(value) == _reference(value)
    assert parse_rfc3339(value) == parse_rfc3339(value)  # second call: from the cache


def test_nanoseconds_round_as_fluent_bit_prints_them() -> None:
    # Fluent Bit 5.1.1 prints this docker time as 1709336316.562398 (ml-java corpus)
    assert f"{parse_rfc3339('2024-03-01T23:38:36.562397665Z'):.6f}" == "1709336316.562398"


def test_other_shapes_take_the_general_path() -> None:
    assert (
        parse_rfc3339("2026-11-27T10:15:00Z")
        == datetime.fromisoformat("2026-11-27T10:15:00+00:00").timestamp()
    )
    assert (
        parse_rfc3339("2026-11-27T10:15:00.25+02:00")
        == datetime.fromisoformat("2026-11-27T10:15:00.250000+02:00").timestamp()
    )
    assert parse_rfc3339("2026-13-27T10:15:00.123Z") is None
    assert parse_rfc3339("") is None
