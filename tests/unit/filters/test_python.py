"""The python filter: the return contract, batch mode, errors, and the dry-run checks."""

from __future__ import annotations

import logging
import os
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.events import Event
from logtide.agent.filters.python import PythonFilter
from logtide.agent.filters.python.source import source_for
from tests.support.plugins import build, settings_for
from tests.unit.filters.helpers import context, make


def script(tmp_path: Path, body: str, name: str = "user.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


CONTRACT = """\
def cb(tag, ts, record):
    action = record.get("do")
    if action == "drop":
        return -1, 0, None
    if action == "keep":
        return 0, 0, None
    if action == "time":
        return 1, 42, {"new": True}
    if action == "record":
        return 2, 99.0, {"only": "record"}
    if action == "split":
        return 2, 0, [{"part": 1}, {"part": 2}]
    if action == "empty":
        return 2, 0, []
    if action == "raise":
        raise RuntimeError("boom")
    if action == "garbage":
        return "nonsense"
    if action == "badcode":
        return 7, 0, record
    if action == "badlist":
        return 2, 0, [{"ok": 1}, "not a dict"]
    if action == "badtime":
        return 1, float("nan"), record
    return 2, 0, dict(record, tag=tag)
"""


def events(*actions: str) -> list[Event]:
    return [(float(n), {"do": action}) for n, action in enumerate(actions, start=1)]


def test_codes_as_fluent_bit_lua(tmp_path):
    filt = make(PythonFilter, Path=script(tmp_path, CONTRACT), Call="cb")
    out = filt("app", events("drop", "keep", "time", "record", "split", "empty", "other"))
    assert out == [
        (2.0, {"do": "keep"}),
        (42.0, {"new": True}),
        (4.0, {"only": "record"}),
        (5.0, {"part": 1}),
        (5.0, {"part": 2}),
        (7.0, {"do": "other", "tag": "app"}),
    ]
    assert all(type(ts) is float for ts, _ in out)
    assert filt.context.metrics.get("filter.0", "callback_errors") == 0


def test_raise_and_garbage_pass_unchanged_counted_and_logged_once(tmp_path, caplog):
    filt = make(PythonFilter, Path=script(tmp_path, CONTRACT), Call="cb")
    bad = events("raise", "garbage", "badcode", "badlist", "badtime")
    with caplog.at_level(logging.ERROR):
        out = filt("app", [*bad, (9.0, {"do": "drop"})])
        again = filt("app", events("raise"))
    assert out == bad
    assert again == events("raise")
    assert filt.context.metrics.get("filter.0", "callback_errors") == 6
    lines = [r.getMessage() for r in caplog.records if "'cb'" in r.getMessage()]
    assert len(lines) == 1, lines  # rate-limited: the second chunk's error is only counted
    assert "'cb' returned garbage" in lines[0] and "5 records passed unchanged" in lines[0]


BATCH = """\
def many(tag, events):
    out = []
    for ts, record in events:
        if record.get("drop"):
            continue
        out.append((ts, dict(record, seen=tag)))
        if record.get("twice"):
            out.append([ts + 1, {"copy": True}])
    return out

def broken(tag, events):
    events.clear()
    raise ValueError("half done")

def garbage(tag, events):
    return [(1.0, "x")]
"""


def test_batch_form(tmp_path):
    path = script(tmp_path, BATCH)
    filt = make(PythonFilter, Path=path, Call="many", Batch="On")
    out = filt("t", [(1.0, {"a": 1}), (2.0, {"drop": 1}), (3.0, {"twice": 1})])
    assert out == [
        (1.0, {"a": 1, "seen": "t"}),
        (3.0, {"twice": 1, "seen": "t"}),
        (4.0, {"copy": True}),
    ]
    assert all(type(event) is tuple for event in out)


@pytest.mark.parametrize("call", ["broken", "garbage"])
def test_batch_errors_leave_the_chunk_whole(tmp_path, call):
    filt = make(PythonFilter, Path=script(tmp_path, BATCH), Call=call, Batch="On")
    chunk = [(1.0, {"a": 1}), (2.0, {"b": 2})]
    assert filt("t", chunk) == [(1.0, {"a": 1}), (2.0, {"b": 2})]
    assert filt.context.metrics.get("filter.0", "callback_errors") == 1


def test_two_filters_with_same_file_name_do_not_collide(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = script(tmp_path / "a", "def cb(t, ts, r):\n    return 2, 0, {'from': 'a'}\n")
    two = script(tmp_path / "b", "def cb(t, ts, r):\n    return 2, 0, {'from': 'b'}\n")
    first = build(PythonFilter, context(), Path=one, Call="cb")
    second = build(PythonFilter, replace(context(), instance="filter.1"), Path=two, Call="cb")
    assert first("t", [(1.0, {})]) == [(1.0, {"from": "a"})]
    assert second("t", [(1.0, {})]) == [(1.0, {"from": "b"})]


def test_module_option(tmp_path, monkeypatch):
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "raise RuntimeError('package init must not run at dry-run')\n"
    )
    (package / "filters.py").write_text("def cb(tag, ts, record):\n    return 0, ts, record\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings_for(PythonFilter, Module="userpkg.filters", Call="cb")  # dry-run: no import
    with pytest.raises(ConfigError, match="not found on the Python path") as info:
        settings_for(PythonFilter, Module="userpkg.nothere", Call="cb")
    assert "userpkg.nothere" in str(info.value)
    with pytest.raises(ConfigError, match=r"importing module 'userpkg\.filters' failed"):
        make(PythonFilter, Module="userpkg.filters", Call="cb")
    (package / "__init__.py").write_text("")
    filt = make(PythonFilter, Module="userpkg.filters", Call="cb")
    assert filt("t", [(1.0, {"a": 1})]) == [(1.0, {"a": 1})]


def dry_run_error(tmp_path: Path, body: str | None, **options: str) -> str:
    if body is not None:
        options.setdefault("Path", script(tmp_path, body))
    with pytest.raises(ConfigError) as info:
        settings_for(PythonFilter, **options)
    return str(info.value)


def test_dry_run_missing_file(tmp_path):
    message = dry_run_error(tmp_path, None, Path=str(tmp_path / "none.py"), Call="cb")
    assert message.startswith("test.conf:1: ") and "cannot read" in message and "none.py" in message


def test_dry_run_syntax_error_points_into_the_users_file(tmp_path):
    message = dry_run_error(tmp_path, "x = 1\ndef cb(tag, ts, record)\n    pass\n", Call="cb")
    assert message.startswith(f"{tmp_path / 'user.py'}:2: filter 'python': ")


def test_dry_run_missing_callable(tmp_path):
    message = dry_run_error(tmp_path, "def other(tag, ts, record):\n    pass\n", Call="cb")
    assert message.startswith("test.conf:1: ") and "defines no 'cb'" in message


@pytest.mark.parametrize(
    ("body", "batch"),
    [
        ("def cb(tag, record):\n    pass\n", "Off"),
        ("def cb(tag, ts, record, extra):\n    pass\n", "Off"),
        ("def cb(tag, ts, record):\n    pass\n", "On"),
        ("def cb(tag, ts, record, *, must):\n    pass\n", "Off"),
        ("async def cb(tag, ts, record):\n    pass\n", "Off"),
        ("cb = lambda tag: 0\n", "Off"),
    ],
)
def test_dry_run_wrong_arity(tmp_path, body, batch):
    message = dry_run_error(tmp_path, "import os\n" + body, Call="cb", Batch=batch)
    assert message.startswith(f"{tmp_path / 'user.py'}:2: filter 'python': 'cb'")


@pytest.mark.parametrize(
    "body",
    [
        "def cb(tag, ts, record=None, more=1):\n    return 0, ts, record\n",
        "def cb(*args):\n    return 0, 0, None\n",
        "try:\n    import json\nexcept ImportError:\n    pass\nelse:\n    def cb(tag, ts, record):\n        return 0, ts, record\n",
        "class Cb:\n    def __call__(self, tag, ts, record):\n        return 0, ts, record\ncb = Cb()\n",
    ],
)
def test_accepted_shapes(tmp_path, body):
    filt = make(PythonFilter, Path=script(tmp_path, body), Call="cb")
    assert filt("t", [(1.0, {"a": 1})]) == [(1.0, {"a": 1})]


def test_build_checks_what_the_tree_cannot(tmp_path):
    body = "class Cb:\n    def __call__(self, tag):\n        pass\ncb = Cb()\nnot_callable = 3\n"
    path = script(tmp_path, body)
    settings_for(PythonFilter, Path=path, Call="cb")  # a class instance: only the build knows
    with pytest.raises(ConfigError, match="does not take"):
        make(PythonFilter, Path=path, Call="cb")
    with pytest.raises(ConfigError, match="not callable"):
        make(PythonFilter, Path=path, Call="not_callable")


def test_import_error_names_the_users_line(tmp_path):
    path = script(tmp_path, "def cb(tag, ts, record):\n    pass\n\n1 / 0\n")
    with pytest.raises(ConfigError) as info:
        make(PythonFilter, Path=path, Call="cb")
    assert str(info.value).startswith(f"{path}:4: ") and "ZeroDivisionError" in str(info.value)


def test_exactly_one_of_path_and_module(tmp_path):
    assert "exactly one of Path and Module" in dry_run_error(tmp_path, None, Call="cb")
    both = dry_run_error(tmp_path, None, Path="x.py", Module="x", Call="cb")
    assert "exactly one of Path and Module" in both


def test_path_is_relative_to_the_config_file(tmp_path):
    where = Location(str(tmp_path / "conf" / "a.conf"), 3)
    source = source_for("f.py", None, "cb", False, where, where)
    assert source.path == str(tmp_path / "conf" / "f.py")


def test_a_rebuild_loads_the_edited_file_under_the_same_private_name(tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as a production interpreter
    path = script(tmp_path, "def cb(t, ts, r):\n    return 2, ts, {'v': 1}\n")
    old = make(PythonFilter, Path=path, Call="cb")
    stamp = Path(path).stat()
    Path(path).write_text("def cb(t, ts, r):\n    return 2, ts, {'v': 2}\n")
    # Same size and mtime: a bytecode cache keyed on them would hand back the old code.
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    new = make(PythonFilter, Path=path, Call="cb")  # what a hot reload does
    assert old("t", [(1.0, {})]) == [(1.0, {"v": 1})]
    assert new("t", [(1.0, {})]) == [(1.0, {"v": 2})]
    assert [name for name in sys.modules if name.startswith("_logtide_python_filter.filter_0")] == [
        "_logtide_python_filter.filter_0"
    ]
    assert not (tmp_path / "__pycache__").exists()  # nothing written beside the config
