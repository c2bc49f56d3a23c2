"""Every plugin case of the Fluent Bit 5.1.1 corpus (``cases/``) gives Fluent Bit's output
files through ``logtide -c fluent-bit.conf --once``: the stock parsers (``parser-``), the
systemd input (``sd-``), the multiline (``ml-``), lua (``lua-``) and rewrite_tag (``rt-``)
filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.plugins.harness import LOGTIDE, case_names, compare, run_case


@pytest.mark.skipif(not LOGTIDE.exists(), reason="logtide is not installed in this venv")
@pytest.mark.parametrize("name", case_names())
def test_case_matches_fluent_bit(name: str, tmp_path: Path) -> None:
    run = run_case(name, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert compare(name, run) == []
