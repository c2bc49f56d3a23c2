import pytest

from logtide.agent.core.errors import ConfigError
from logtide.agent.filters.grep import GrepFilter
from tests.unit.filters.helpers import make, run

RECORDS = [
    {"log": "error: disk full", "level": "error", "k": {"app": "api"}},
    {"log": "all good", "level": "info", "k": {"app": "web"}},
    {"log": "warn: slow", "level": 3},
]


def test_regex_keeps_matches():
    assert run(make(GrepFilter, Regex="log ^error"), *RECORDS) == [RECORDS[0]]


def test_exclude_drops_matches_and_non_strings_never_match():
    out = run(make(GrepFilter, Exclude="level ^info"), *RECORDS)
    assert out == [RECORDS[0], RECORDS[2]]
    assert run(make(GrepFilter, Regex="level 3"), *RECORDS) == []


def test_record_accessor_keys():
    assert run(make(GrepFilter, Regex="$k['app'] ^api$"), *RECORDS) == [RECORDS[0]]


def test_regex_with_spaces_in_pattern():
    assert run(make(GrepFilter, Regex="log disk full$"), *RECORDS) == [RECORDS[0]]


def test_legacy_regex_then_exclude_in_written_order():
    filt = make(GrepFilter, Regex="log :", Exclude="level ^error")
    # legacy: the first Regex that matches keeps the record without looking further
    assert run(filt, *RECORDS) == [RECORDS[0], RECORDS[2]]
    filt2 = make(GrepFilter, Exclude="level ^error", Regex="log :")
    assert run(filt2, *RECORDS) == [RECORDS[2]]


def test_and_or():
    both = make(GrepFilter, Regex=["log o", "level ^info$"], Logical_Op="AND")
    assert run(both, *RECORDS) == [RECORDS[1]]
    either = make(GrepFilter, Regex=["log ^error", "level ^info$"], Logical_Op="OR")
    assert run(either, *RECORDS) == [RECORDS[0], RECORDS[1]]
    none_of = make(GrepFilter, Exclude=["log ^error", "level ^info$"], Logical_Op="OR")
    assert run(none_of, *RECORDS) == [RECORDS[2]]


def test_mixing_regex_and_exclude_with_logical_op_is_an_error():
    with pytest.raises(ConfigError, match="cannot be mixed"):
        make(GrepFilter, Regex="a b", Exclude="c d", Logical_Op="AND")


def test_malformed_rules():
    with pytest.raises(ConfigError, match="KEY REGEX"):
        make(GrepFilter, Regex="lonely")
    with pytest.raises(ConfigError, match="invalid regular expression"):
        make(GrepFilter, Regex="log (")
