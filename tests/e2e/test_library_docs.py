"""The examples in docs/library.md run as another project's tests would: in a separate
folder with its own conftest, using only the installed pytest plugin's fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_library_docs_examples_pass_in_a_separate_project(tmp_path: Path) -> None:
    blocks = [b for b in python_blocks(DOC.read_text()) if "def test_" in b]
    assert len(blocks) == 3
    project = tmp_path / "other_project"
    project.mkdir()
    (project / "conftest.py").write_text(
        "# nothing here: the fixtures come from logtide's plugin\n"
    )
    for index, block in enumerate(blocks):
        (project / f"test_example_{index}.py").write_text(block)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(project),
            str(project),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
