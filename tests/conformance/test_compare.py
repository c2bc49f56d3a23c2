"""The corpora's comparison rules (tests/conformance/compare.py) and the plugin harness's
file rules: a lenient comparison would let a wrong output pass every case."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conformance.compare import differences, same, time_differences
from tests.conformance.plugins import harness


@pytest.mark.parametrize(
    ("want", "got", "equal"),
    [
        (1, 1.0, False),
        (3.0, 3, False),
        (True, 1, False),
        (0.43537, 0.43537 * (1 + 5e-7), True),
        (0.43537, 0.43537 * (1 + 5e-6), False),
        ({"a": 1, "b": [1, {"c": "x"}]}, {"b": [1, {"c": "x"}], "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": None}, False),
        ([1, 2], [2, 1], False),
        (None, None, True),
    ],
)
def test_value_rules(want: object, got: object, equal: bool) -> None:
    assert same(want, got) is equal


def test_record_order_matters() -> None:
    assert differences([{"a": 1}, {"a": 2}], [{"a": 2}, {"a": 1}]) != []
    assert differences([{"a": 1}], [{"a": 1}, {"a": 1}]) != []


def _time_files(tmp_path: Path, want: str, got: str) -> tuple[Path, Path]:
    (tmp_path / "want.txt").write_text(want)
    (tmp_path / "got.txt").write_text(got)
    return tmp_path / "want.txt", tmp_path / "got.txt"


def test_time_lines_match_to_the_microsecond(tmp_path: Path) -> None:
    files = _time_files(tmp_path, "1677267410.250000 {log}\n", "1677267410.250001 {log}\n")
    assert time_differences(*files, run=(0.0, 1.0)) != []
    files = _time_files(tmp_path, "1677267410.250000 {log}\n", "1677267410.250000 {log}\n")
    assert time_differences(*files, run=(0.0, 1.0)) == []
    files = _time_files(tmp_path, "1677267410.250000 a\n", "1677267410.250000 b\n")
    assert time_differences(*files, run=(0.0, 1.0)) != []


def test_ingestion_time_must_fall_within_logtides_run(tmp_path: Path) -> None:
    files = _time_files(tmp_path, "1796130000.000000 raw\n", "1800000000.500000 raw\n")
    assert time_differences(*files, run=(1800000000.0, 1800000001.0)) == []
    assert time_differences(*files, run=(1800000001.0, 1800000002.0)) != []


def test_a_file_fluent_bit_did_not_write_must_be_absent_or_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = tmp_path / "cases" / "x"
    (case / "expected").mkdir(parents=True)
    (case / "expected" / "a.jsonl").write_text('{"a":1}\n')
    out = tmp_path / "out"
    out.mkdir()
    shutil.copyfile(case / "expected" / "a.jsonl", out / "a.jsonl")
    (out / "b.jsonl").write_text("")
    monkeypatch.setattr(harness, "CASES", tmp_path / "cases")
    run = harness.Run(out, 0.0, 1.0, 0, "")
    assert harness.compare("x", run) == []
    (out / "b.jsonl").write_text('{"b":2}\n')
    assert harness.compare("x", run) == ["b.jsonl: Fluent Bit wrote nothing, logtide wrote records"]
    (out / "a.jsonl").unlink()
    assert harness.compare("x", run)[0].startswith("a.jsonl: 0 records, expected 1")
