"""docs/plugins.md is generated from the option tables; it must not drift from them."""

from __future__ import annotations

from pathlib import Path

from logtide.agent.plugin_docs import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_plugins_md_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "regenerate: .venv/bin/python -m logtide.agent.plugin_docs > docs/plugins.md"
    )


def test_every_plugin_and_option_is_documented() -> None:
    text = render()
    for heading in (
        "## input `tail`",
        "## filter `parser`",
        "## output `s3`",
        "## output `cloudwatch_logs`",
    ):
        assert heading in text
    assert "| `Mem_Buf_Limit` | size |" in text
