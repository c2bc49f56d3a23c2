import calendar
import random
import time

import pytest

from logtide.agent.parsers.strptime import TimeFormatError, parse_offset
from logtide.agent.parsers.timefmt import TimeFormat


def ts(*fields):
    return calendar.timegm((*fields, 0, 0, 0)[:9])


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("%Y-%m-%dT%H:%M:%S.%L%z", "2026-11-27T00:00:00.001371Z", ts(2026, 11, 27) + 0.001371),
        ("%Y-%m-%dT%H:%M:%S.%L%z", "2026-11-27T01:00:00.5+01:00", ts(2026, 11, 27)),
        ("%Y-%m-%dT%H:%M:%S.%L%z", "2026-11-27T00:00:00.0-0130", ts(2026, 11, 27, 1, 30)),
        ("%Y-%m-%dT%H:%M:%S.%L", "2026-11-27T00:00:00.25Z", ts(2026, 11, 27) + 0.25),
        ("%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700", ts(2000, 10, 10, 20, 55, 36)),
        ("%Y-%m-%d %H:%M:%S %Z", "2020-01-01 00:00:00 PST", ts(2020, 1, 1, 8)),
        ("%s", "1700000000", 1700000000),
        ("%s.%L", "1700000000.125", 1700000000.125),
        ("%F %T", "2021-03-04 05:06:07", ts(2021, 3, 4, 5, 6, 7)),
        ("%y-%m-%d", "69-01-01", ts(1969, 1, 1)),
        ("%y-%m-%d", "24-02-29", ts(2024, 2, 29)),
        ("%Y-%m-%d %I:%M %p", "2020-01-01 12:30 AM", ts(2020, 1, 1, 0, 30)),
        ("%Y-%m-%d %I:%M %p", "2020-01-01 01:30 pm", ts(2020, 1, 1, 13, 30)),
        ("%Y %j", "2020 060", ts(2020, 2, 29)),
        ("%Y-%m-%d", "2020-01-02 trailing text", ts(2020, 1, 2)),
    ],
)
def test_formats(fmt, text, expected):
    assert TimeFormat(fmt).parse(text) == pytest.approx(expected)


def test_time_offset_applies_to_zone_less_times():
    assert TimeFormat("%Y-%m-%d %H", offset=parse_offset("-07:00")).parse("2020-01-01 00") == ts(
        2020, 1, 1, 7
    )


def test_format_without_year_uses_current_year():
    fmt = TimeFormat("%b %d %H:%M:%S")
    year = time.gmtime().tm_year
    assert fmt.parse("Mar 05 01:02:03") == ts(year, 3, 5, 1, 2, 3)


def test_strict_mismatch_is_none_and_lenient_keeps_partial_fields():
    assert TimeFormat("%Y-%m-%d %H:%M").parse("2020-01-02 xx") is None
    lenient = TimeFormat("%Y-%m-%d %H:%M", strict=False)
    assert lenient.parse("2020-01-02 xx") == ts(2020, 1, 2)


def test_out_of_range_fields_do_not_match():
    assert TimeFormat("%Y-%m-%d").parse("2020-13-01") is None
    assert TimeFormat("%H:%M").parse("25:00") is None


def test_iana_zone():
    from zoneinfo import ZoneInfo

    fmt = TimeFormat("%Y-%m-%d %H:%M", zone=ZoneInfo("Europe/Paris"))
    assert fmt.parse("2020-07-01 12:00") == ts(2020, 7, 1, 10)
    assert fmt.parse("2020-01-01 12:00") == ts(2020, 1, 1, 11)


def test_unsupported_conversion():
    with pytest.raises(TimeFormatError, match="%L"):
        TimeFormat("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.parametrize(("text", "seconds"), [("+0900", 32400), ("-07:00", -25200), ("Z", 0)])
def test_parse_offset(text, seconds):
    assert parse_offset(text) == seconds


def test_parse_offset_invalid():
    with pytest.raises(ValueError):
        parse_offset("nine")


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("%s", "99999999999999999999"),
        ("%s", "253402300800"),  # 10000-01-01T00:00:00Z
        ("%s", "-99999999999999"),
        ("%Y-%m-%d %H:%M:%S", "0000-12-31 23:59:59"),
    ],
)
def test_times_outside_years_1_to_9999_are_invalid(fmt, text):
    assert TimeFormat(fmt).parse(text) is None


def test_the_last_second_of_9999_is_valid():
    assert TimeFormat("%s").parse("253402300799") == 253402300799


def test_month_name_fast_path_agrees_with_the_general_path():
    fast = TimeFormat("%d/%b/%Y:%H:%M:%S %z")
    general = TimeFormat("%d/%b/%Y:%H:%M:%S %z")
    general._fast = None
    assert fast._fast is not None
    rng = random.Random(7)
    months = ["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    for _ in range(2000):
        text = (
            f"{rng.randint(0, 32):02d}/{rng.choice(months)}/{rng.randint(1, 9999):04d}:"
            f"{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 61):02d} "
            f"{rng.choice(['+', '-'])}{rng.randint(0, 14):02d}{rng.choice(['00', '30'])}"
        )
        assert fast.parse(text) == general.parse(text), text
