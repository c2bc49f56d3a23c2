"""Where a rotated file went: its generations beside the original path, or beside the file
a link names (kubelet's layout)."""

from __future__ import annotations

import os
from pathlib import Path

from logtide.agent.inputs.tail.siblings import (
    Family,
    FamilyIndex,
    Followed,
    find_beside,
    generations_last,
    generations_of,
    locate,
    siblings,
)


def _linked(tmp_path: Path) -> tuple[Path, Path]:
    """kubelet's layout: (the container's folder under ``pods/``, a link in
    ``containers/`` naming its ``0.log``)."""
    pods, containers = tmp_path / "pods" / "app", tmp_path / "containers"
    pods.mkdir(parents=True)
    containers.mkdir()
    link = containers / "orders-1_shop_app-0123.log"
    link.symlink_to(pods / "0.log")
    return pods, link


def test_rotated_names_of_kubelet_and_logrotate(tmp_path: Path) -> None:
    for name in ("0.log", "0.log.20261127-101500", "app.log", "app.log.1", "app-20261127.log"):
        (tmp_path / name).write_bytes(b"x\n")
    assert siblings(str(tmp_path / "0.log")) == [str(tmp_path / "0.log.20261127-101500")]
    assert siblings(str(tmp_path / "app.log")) == [
        str(tmp_path / "app-20261127.log"),
        str(tmp_path / "app.log.1"),
    ]
    family = Family(str(tmp_path / "app.log"))
    assert str(tmp_path / "app.log") in family
    assert str(tmp_path / "app.log.1") in family
    assert str(tmp_path / "0.log") not in family
    assert "/elsewhere/app.log.1" not in family


def test_other_files_and_compressed_generations_are_not_generations(tmp_path: Path) -> None:
    """kubelet's ``10.log`` is another restart of the container, ``app2.log`` another app;
    ``.gz`` generations hold compressed bytes, not lines."""
    for name in ("1.log", "10.log", "1.log.20261127-101500", "1.log.20261127-101400.gz"):
        (tmp_path / name).write_bytes(b"x\n")
    (tmp_path / "app.log").write_bytes(b"x\n")
    (tmp_path / "app2.log").write_bytes(b"x\n")
    (tmp_path / "app.log.2.gz").write_bytes(b"x\n")
    assert siblings(str(tmp_path / "1.log")) == [str(tmp_path / "1.log.20261127-101500")]
    assert siblings(str(tmp_path / "app.log")) == []


def test_kubelets_gzip_in_progress_is_not_a_generation(tmp_path: Path) -> None:
    """kubelet writes the gzip of ``0.log.<time>`` as ``0.log.<time>.tmp`` and renames it to
    ``.gz`` when complete: compressed bytes, never lines."""
    for name in ("0.log", "0.log.20261127-101500", "0.log.20261127-101500.tmp"):
        (tmp_path / name).write_bytes(b"x\n")
    assert siblings(str(tmp_path / "0.log")) == [str(tmp_path / "0.log.20261127-101500")]


def test_compressed_generations_of_a_link_and_of_a_rotated_name(tmp_path: Path) -> None:
    pods, link = _linked(tmp_path)
    for name in ("0.log", "0.log.20261127-101400.gz", "0.log.20261127-101500.gz", "10.log.1.gz"):
        (pods / name).write_bytes(b"x\n")
    (pods / "0.log.20261127-101600.tmp").write_bytes(b"x\n")
    both = [str(pods / "0.log.20261127-101400.gz"), str(pods / "0.log.20261127-101500.gz")]
    assert generations_of(str(link), ".gz") == both
    assert generations_of(str(pods / "0.log"), ".gz") == both
    # A rotation the agent saw renamed the row to the rotated name, which is gone now (its
    # stem, 0.log, makes the other one a candidate too: the file's first bytes decide).
    rotated = str(pods / "0.log.20261127-101500")
    assert f"{rotated}.gz" in generations_of(rotated, ".gz")


def test_a_links_generations_are_beside_the_file_it_names(tmp_path: Path) -> None:
    pods, link = _linked(tmp_path)
    (pods / "0.log").write_bytes(b"old\n")
    st = os.stat(link)
    rotated = pods / "0.log.20261127-101500"
    os.rename(pods / "0.log", rotated)
    (pods / "0.log").write_bytes(b"new\n")
    assert siblings(str(link)) == [str(rotated)]
    assert find_beside(str(link), st.st_dev, st.st_ino) == str(rotated)
    assert locate(str(link), st.st_ino) == str(rotated)
    assert str(rotated) in Family(str(link))
    followed = Followed([str(link), str(tmp_path / "elsewhere.log")])
    assert followed(str(rotated)) == str(link)
    assert followed(str(link)) == str(link)
    assert followed(str(tmp_path / "gone.log.1")) == str(tmp_path / "gone.log.1")


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


def test_a_family_index_finds_the_names_a_family_holds(tmp_path: Path) -> None:
    """``FamilyIndex.of(path)`` is every name filed that ``Family(path)`` holds, for plain
    paths, dotted and dotless names, and a link (its generations are beside the file it
    names), and no other."""
    pods, link = _linked(tmp_path)
    var = tmp_path / "var"
    var.mkdir()
    paths = [str(link), str(var / "app.log"), str(var / "syslog"), str(var / "app.log.1")]
    bases = [
        "app.log", "app.log.1", "app.log.2.gz", "app-20261203.log", "app_x", "app.logx",
        "apps.log", "syslog", "syslog.1", "syslog-20261203", "syslogs", "messages",
        "0.log", "0.log.20261127-101500", "0.log.20261127-101500.gz", "0.log.tmp", "10.log",
        "orders-1_shop_app-0123.log", "orders-1_shop_app-0123.log.1", "orders-1_shop_app-01234.log",
        ".hidden", "app.log.1.1", "app.log.1-x",
    ]  # fmt: skip
    names = [str(folder / base) for folder in (var, pods, link.parent) for base in bases]
    index: FamilyIndex[str] = FamilyIndex()
    for name in names:
        index.add(name, name)
    for path in paths:
        family = Family(path)
        expected = {name for name in names if name in family}
        assert expected, path
        assert set(index.of(path)) == expected, path


def test_generations_come_after_the_files_they_are_generations_of() -> None:
    """A name that is a generation of another in the list (beside it) goes after the rest,
    each group keeping its order; a name is never a generation of itself."""
    paths = [
        "/l/app-20261203.log", "/l/app.log", "/l/app.log.1", "/l/apps.log", "/m/app-1.log",
        "/l/db.log", "/l/db.log.2.gz", "/l/x_y.log", "/l/x.log",
    ]  # fmt: skip
    assert generations_last(paths) == [
        "/l/app.log", "/l/apps.log", "/m/app-1.log", "/l/db.log", "/l/db.log.2.gz",
        "/l/x.log", "/l/app-20261203.log", "/l/app.log.1", "/l/x_y.log",
    ]  # fmt: skip
