"""Where a rotated file went: its generations beside the original path."""

from __future__ import annotations

import os
from pathlib import Path

from logtide.agent.inputs.tail.siblings import find_beside, is_sibling, locate, siblings


def test_rotated_names_of_kubelet_and_logrotate(tmp_path: Path) -> None:
    for name in ("0.log", "0.log.20261127-101500", "app.log", "app.log.1", "app-20261127.log"):
        (tmp_path / name).write_bytes(b"x\n")
    assert siblings(str(tmp_path / "0.log")) == [str(tmp_path / "0.log.20261127-101500")]
    assert siblings(str(tmp_path / "app.log")) == [
        str(tmp_path / "app-20261127.log"),
        str(tmp_path / "app.log.1"),
    ]
    assert is_sibling(str(tmp_path / "app.log"), str(tmp_path / "app.log"))
    assert is_sibling(str(tmp_path / "app.log"), str(tmp_path / "app.log.1"))
    assert not is_sibling(str(tmp_path / "app.log"), str(tmp_path / "0.log"))
    assert not is_sibling(str(tmp_path / "app.log"), "/elsewhere/app.log.1")


def test_a_file_is_found_by_inode_where_it_went(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"x\n")
    st = os.stat(log)
    assert locate(str(log), st.st_ino) == str(log)
    os.rename(log, tmp_path / "app.log.1")
    log.write_bytes(b"new\n")
    assert locate(str(log), st.st_ino) == str(tmp_path / "app.log.1")
    assert find_beside(str(log), st.st_dev, st.st_ino) == str(tmp_path / "app.log.1")
    os.unlink(tmp_path / "app.log.1")
    assert locate(str(log), st.st_ino) is None
