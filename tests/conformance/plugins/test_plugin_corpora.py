"""Every plugin case of the Fluent Bit 5.1.1 corpus (``cases/``) gives Fluent Bit's output
files through ``logtide -c fluent-bit.conf --once``. Families logtide cannot run yet are
strict xfails (see ``harness.NOT_YET``), so they cannot pass silently nor stay listed once
they work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.plugins.harness import LOGTIDE, case_names, compare, not_yet_reason, run_case


def _params() -> list[object]:
    params: list[object] = []
    for name in case_names():
        reason = not_yet_reason(name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv")
@pytest.mark.parametrize("name", _params())
def test_case_matches_fluent_bit(name: str, tmp_path: Path) -> None:
    run = run_case(name, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert compare(name, run) == []
